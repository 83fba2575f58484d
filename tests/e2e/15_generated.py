# SPDX-License-Identifier: MIT
"""Generated files match the code that generates them (house style rule 17/26), and the generated
example config is a config the gateway accepts."""

import os
import subprocess

from harness import REPO, gateway_bin, main, test


@test
def generated_files_are_current():
    env = dict(os.environ, HYBRIDGATE_BIN=gateway_bin())
    p = subprocess.run(["sh", os.path.join(REPO, "scripts", "gen.sh"), "--check"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr


@test
def example_config_passes_check_config():
    p = subprocess.run([gateway_bin(), "check-config", "-c", os.path.join(REPO, "hybridgate.example.yaml")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "ok" in p.stdout


@test
def every_option_is_documented():
    text = open(os.path.join(REPO, "docs", "config.md")).read()
    src = open(os.path.join(REPO, "src", "core", "config.c")).read()
    # each option table row begins with {"name", OPT_
    import re
    names = re.findall(r'\{"([a-z_]+)", OPT_', src)
    assert len(names) >= 10, names
    for n in names:
        assert "`%s`" % n in text, "option %s missing from docs/config.md" % n


if __name__ == "__main__":
    main()
