"""A stand-in engine process for the launcher tests: plain Python, starts in milliseconds.

    python fake_engine.py --port P [--ready-path /health] [--ready-file F] [--exit-file F [--exit-once]]
                          [--exit-code N | --die-by SIGNAL] [--spawn-child PIDFILE] [--ignore-term] [--say TEXT]
                          [--no-listen]

It prints ``--say`` lines, answers 200 on the ready path (503 until ``--ready-file`` exists, if given), exits
with ``--exit-code`` (or kills itself with ``--die-by``, e.g. ILL) at once or once ``--exit-file`` exists (which
``--exit-once`` removes first, so a restarted fake lives on), can start a grandchild (pid written to PIDFILE)
and can ignore SIGTERM. Files rather than delays make the tests independent of the machine's speed.
"""

from __future__ import annotations

import argparse
import http.server
import os
import resource
import signal
import subprocess
import sys
import threading
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready-path", default="/health")
    parser.add_argument("--ready-file", default=None)
    parser.add_argument("--exit-file", default=None)
    parser.add_argument("--exit-now", action="store_true")
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("--exit-once", action="store_true")
    parser.add_argument("--die-by", default=None)
    parser.add_argument("--spawn-child", default=None)
    parser.add_argument("--ignore-term", action="store_true")
    parser.add_argument("--no-listen", action="store_true")
    parser.add_argument("--say", action="append", default=[])
    args = parser.parse_args()
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for line in args.say:
        print(line, flush=True)
    if args.spawn_child:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open(args.spawn_child, "w") as stream:
            stream.write(str(child.pid))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ready = args.ready_file is None or os.path.exists(args.ready_file)
            code = (
                200
                if self.path == args.ready_path and ready
                else 503
                if self.path == args.ready_path
                else 404
            )
            body = b'{"ok": true}'
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *items: object) -> None:
            print("request", self.path, flush=True)

    def end() -> None:
        if args.die_by:
            print(f"fake engine dying by SIG{args.die_by}", flush=True)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file
            os.kill(os.getpid(), signal.Signals[f"SIG{args.die_by}"])
            time.sleep(30)  # the signal ends the process; do not race it to os._exit
        print(f"fake engine exiting with {args.exit_code}", flush=True)
        os._exit(args.exit_code)

    if args.exit_now:
        end()
    if args.exit_file is not None:

        def leave() -> None:
            while not os.path.exists(args.exit_file):
                time.sleep(0.05)
            if args.exit_once:
                os.remove(args.exit_file)
            end()

        threading.Thread(target=leave, daemon=True).start()
    if args.no_listen:
        while True:
            time.sleep(1)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
