# SPDX-License-Identifier: MIT
# Sourced by the bench scripts (POSIX sh): json_upstream_conf DIR PORT prints an nginx config that
# answers every request on 127.0.0.1:PORT with one fixed chat completion (with usage), its pid,
# logs and temp files in DIR. The caller starts nginx with it and stops it by its pid file.
json_upstream_conf() {
    cat <<NGX
worker_processes 1;
daemon on;
pid $1/nginx.pid;
error_log $1/nginx.err;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1;
    uwsgi_temp_path $1; scgi_temp_path $1;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$2;
        location / {
            default_type application/json;
            return 200 '{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}';
        }
    }
}
NGX
}
