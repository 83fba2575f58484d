/* SPDX-License-Identifier: MIT */
/* Levelled diagnostic log to stderr: time, level, component, then key=value text. The level is
 * checked before the arguments are evaluated. Never pass prompt bytes or keys to it. */
#ifndef HG_CORE_LOG_H
#define HG_CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

extern enum log_level log_min_level;

const char *log_level_name(enum log_level l);
void log_write(enum log_level l, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_at(l, comp, ...)                                                                       \
    do {                                                                                           \
        if ((l) >= log_min_level)                                                                  \
            log_write((l), (comp), __VA_ARGS__);                                                   \
    } while (0)
#define log_debug(comp, ...) log_at(LOG_DEBUG, comp, __VA_ARGS__)
#define log_info(comp, ...) log_at(LOG_INFO, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_at(LOG_WARN, comp, __VA_ARGS__)
#define log_error(comp, ...) log_at(LOG_ERROR, comp, __VA_ARGS__)

#endif
