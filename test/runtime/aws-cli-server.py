# Runs AWS CLI command lines for the test suite, one per line of stdin, in one Python process.
#
# Each line is a JSON object {"args": [...], "env": {...}}; the answer is one JSON line
# {"code": n, "stdout": "...", "stderr": "..."}. A command runs exactly as the `aws` script runs
# it (awscli.clidriver: a new driver, so a new botocore session that reads the environment, per
# command), with os.environ set to the given environment alone and its output captured. What
# the process saves is the interpreter's and botocore's start, about a CPU-second per command.
import contextlib
import io
import json
import os
import sys
import traceback

_before = dict(os.environ)
import awscli.clidriver  # noqa: E402

# What importing awscli puts in the environment (its data path), as it does in every `aws` process.
AWSCLI_ENV = {k: v for k, v in os.environ.items() if _before.get(k) != v}


def run(args, env):
    os.environ.clear()
    os.environ.update(env)
    os.environ.update(AWSCLI_ENV)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = awscli.clidriver.create_clidriver().main(args)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 255)
        except BaseException:
            traceback.print_exc()
            code = 255
    out.flush()
    err.flush()
    return {
        "code": code,
        "stdout": out.buffer.getvalue().decode("utf-8", "replace"),
        "stderr": err.buffer.getvalue().decode("utf-8", "replace"),
    }


def main():
    answers = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        answers.write(json.dumps(run(request["args"], request["env"])) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
