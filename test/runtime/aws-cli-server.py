# Runs AWS CLI command lines for the test suite in one Python process that imported awscli once.
#
# Two modes:
# - `aws-cli-server.py`: command lines one per line of stdin, answered one per line of stdout, in
#   this process (one test file's server).
# - `aws-cli-server.py --listen PATH`: a Unix socket shared by every test file of a jest run, so
#   the run imports awscli once instead of once per file. Each connection carries one command
#   line and gets its answer; commands run one at a time, in the order they connect, as in the
#   first mode. Closing stdin ends the server.
#
# A command line is a JSON object {"args": [...], "env": {...}}; the answer is one JSON line
# {"code": n, "stdout": "...", "stderr": "..."}. A command runs exactly as the `aws` script runs
# it (awscli.clidriver: a new driver, so a new botocore session that reads the environment, per
# command), with os.environ set to the given environment alone and its output captured. What
# the process saves is the interpreter's and botocore's start, about a CPU-second per command.
import contextlib
import io
import json
import os
import select
import socket
import sys
import traceback


def listen(path):
    """Binds before the slow import, so clients can connect (and wait in the backlog) at once."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(128)
    return server


LISTENER = listen(sys.argv[2]) if __name__ == "__main__" and sys.argv[1:2] == ["--listen"] else None

_before = dict(os.environ)
try:
    import awscli.clidriver  # noqa: E402

    UNAVAILABLE = None
except ImportError as e:
    if LISTENER is None:
        raise
    # Each client learns it from its answer and starts the `aws` command instead.
    UNAVAILABLE = str(e)

# What importing awscli puts in the environment (its data path), as it does in every `aws` process.
AWSCLI_ENV = {k: v for k, v in os.environ.items() if _before.get(k) != v}


def remember_service_lists():
    """
    Lists botocore's installed service models once per search path instead of once per command.
    Each command's new session gets a new Loader, which lists the model directories (some 2,000
    directory reads) five times to build the command table: a third of a command's CPU time here.
    The directories are the installed package's and do not change while the server runs, so the
    answer is the same; models are still read and parsed by each command's own loader.
    """
    import botocore.loaders

    listed = {}
    list_services = botocore.loaders.Loader.list_available_services

    def list_available_services(self, type_name):
        key = (tuple(self.search_paths), type_name)
        if key not in listed:
            listed[key] = list_services(self, type_name)
        return list(listed[key])

    botocore.loaders.Loader.list_available_services = list_available_services


def remember_pure_answers():
    """
    Keeps two answers that each command's new session works out again for the same inputs, and
    that depend on nothing else: what an event name becomes after botocore's fixed aliases, and
    whether a handler's code takes **kwargs (asked for each of some 400 handlers a session
    registers, through inspect). Together a third of a command's CPU time here. The aliasing
    cache is the one botocore keeps per session, shared between sessions that use the default
    aliases; the kwargs answer is botocore's own, kept per code object (what decides it).
    """
    import botocore.hooks

    aliased = {}
    init = botocore.hooks.EventAliaser.__init__

    def aliaser_init(self, event_emitter, event_aliases=None):
        init(self, event_emitter, event_aliases)
        if event_aliases is None:
            self._alias_name_cache = aliased

    botocore.hooks.EventAliaser.__init__ = aliaser_init

    takes_kwargs = {}
    accepts_kwargs = botocore.hooks.accepts_kwargs

    def remembered_accepts_kwargs(func):
        code = getattr(getattr(func, "__func__", func), "__code__", None)
        if code is None or hasattr(func, "__signature__"):
            return accepts_kwargs(func)
        if code not in takes_kwargs:
            takes_kwargs[code] = accepts_kwargs(func)
        return takes_kwargs[code]

    botocore.hooks.accepts_kwargs = remembered_accepts_kwargs


if UNAVAILABLE is None:
    remember_service_lists()
    remember_pure_answers()


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


def answer(conn):
    """One command line from the connection, its answer back."""
    with conn, conn.makefile("rb") as reader:
        line = reader.readline()
        if not line.strip():
            return
        request = json.loads(line)
        result = {"unavailable": UNAVAILABLE} if UNAVAILABLE else run(request["args"], request["env"])
        conn.sendall((json.dumps(result) + "\n").encode("utf-8"))


def serve(server):
    stdin = sys.stdin.fileno()
    while True:
        ready, _, _ = select.select([server, stdin], [], [])
        if stdin in ready and not os.read(stdin, 65536):
            break
        if server in ready:
            conn, _ = server.accept()
            try:
                answer(conn)
            except Exception:
                # A client that went away; the next one is served as usual.
                traceback.print_exc()
    server.close()


if __name__ == "__main__":
    if LISTENER is not None:
        serve(LISTENER)
    else:
        main()
