#!/usr/bin/python3
"""Run a command on a new pseudo-terminal (its controlling terminal),
answering each prompt that contains 'assphrase' with the next answer.
usage: ttyrun.py ANSWER... -- COMMAND [ARGS]; exits with its status."""
import os, pty, sys

i = sys.argv.index("--")
answers, cmd = sys.argv[1:i], sys.argv[i + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
seen = b""
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    sys.stdout.buffer.write(data)
    seen += data
    while b"assphrase" in seen and answers:
        seen = seen[seen.index(b"assphrase") + 9:]
        os.write(fd, answers.pop(0).encode() + b"\n")
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
