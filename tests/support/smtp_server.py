#!/usr/bin/python3
"""Small but real SMTP sink for Tocsin's integration tests (aiosmtpd based).

Usage:
    /usr/bin/python3 tests/support/smtp_server.py --port 0 --out DIR \
        [--temp-fail PATTERN=N ...] [--perm-fail PATTERN ...] [--delay-ms N] \
        [--pipelining] [--log-commands] [--exit-on-stdin-eof]

* Listens on 127.0.0.1:<port> (0 = pick a free port) and prints exactly one
  line ``READY <port>`` on stdout once listening; nothing else goes to stdout
  (diagnostics go to stderr).  Runs until SIGTERM/SIGINT (exit status 0).
* Every accepted message (DATA answered with 250) is stored as
  ``DIR/<seq:06d>-<sanitised first recipient>.eml`` containing the raw message
  bytes exactly as received (after SMTP dot-unstuffing, CRLF line endings kept),
  and one JSON line is appended to ``DIR/index.jsonl``:
      {"seq": 1, "mail_from": "...", "rcpt_tos": ["..."], "file": "000001-x.eml",
       "message_id": "<...>" | null, "bytes": 1234}
  Both are written (file atomically via rename, index line flushed) before the
  250 reply is sent.
* ``--temp-fail PATTERN=N``: for every recipient whose address contains PATTERN
  (case-insensitive), the first N DATA attempts involving that recipient get
  ``451 4.3.0 Temporary failure, try again later`` (counted per recipient
  address); later attempts are accepted.  Repeatable.
* ``--perm-fail PATTERN``: recipients containing PATTERN (case-insensitive) are
  refused at RCPT TO with ``550 5.1.1 <addr>: Recipient address rejected: User
  unknown in virtual mailbox table``.  Repeatable.
* ``--delay-ms N``: sleep N ms in DATA before storing (slow server).
* ``--pipelining``: advertise PIPELINING (RFC 2920) in the EHLO answer, as
  Postfix and most relays do; aiosmtpd answers pipelined commands in order.
* ``--log-commands``: append every command a client sends to ``DIR/commands.log``
  as ``<session> <command line>``, followed by `` [pipelined]`` when the client's
  next command had already arrived as this one was handled (RFC 2920).
* ``--exit-on-stdin-eof``: also shut down when stdin reaches EOF (useful when the
  parent holds a pipe to our stdin, so an aborted test run does not leak us).

Only the standard library and aiosmtpd are used.
"""

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
import threading

from aiosmtpd.smtp import SMTP

HOST = "127.0.0.1"
DATA_SIZE_LIMIT = 50 * 1024 * 1024
INDEX_NAME = "index.jsonl"

log = logging.getLogger("tocsin.smtp_server")

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")
_EML_NAME = re.compile(r"^(\d+)-.*\.eml$")


def sanitise(addr):
    name = _UNSAFE.sub("_", addr or "")[:100]
    return name or "_"


def extract_message_id(raw):
    """Return the (unfolded, stripped) Message-ID header value, or None."""
    # Header block ends at the first empty line.
    end = len(raw)
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep)
        if i != -1 and i < end:
            end = i
    current = None
    values = []
    for line in raw[:end].splitlines():
        if line[:1] in (b" ", b"\t") and current is not None:
            current.append(line)
            continue
        current = None
        name, colon, rest = line.partition(b":")
        if colon and name.strip().lower() == b"message-id":
            current = [rest]
            values.append(current)
    if not values:
        return None
    value = b" ".join(part.strip() for part in values[0]).strip()
    return value.decode("utf-8", errors="replace")


class Sink:
    def __init__(self, out_dir, temp_fail, perm_fail, delay_ms, pipelining):
        self.out_dir = out_dir
        self.pipelining = pipelining
        self.temp_fail = temp_fail  # list of (pattern_lower, n)
        self.perm_fail = perm_fail  # list of pattern_lower
        self.delay = delay_ms / 1000.0
        self.attempts = {}  # recipient (lower) -> DATA attempts refused so far
        self.seq = self._existing_max_seq()
        self.index = open(os.path.join(out_dir, INDEX_NAME), "ab")

    def _existing_max_seq(self):
        best = 0
        for name in os.listdir(self.out_dir):
            m = _EML_NAME.match(name)
            if m:
                best = max(best, int(m.group(1)))
        return best

    def close(self):
        try:
            self.index.close()
        except Exception:
            pass

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        low = address.lower()
        for pat in self.perm_fail:
            if pat in low:
                return ("550 5.1.1 <%s>: Recipient address rejected: "
                        "User unknown in virtual mailbox table" % address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # Temporary failures are decided (and counted) per recipient address.
        refuse = False
        for rcpt in envelope.rcpt_tos:
            low = rcpt.lower()
            for pat, n in self.temp_fail:
                if pat in low:
                    done = self.attempts.get(low, 0)
                    if done < n:
                        self.attempts[low] = done + 1
                        refuse = True
                    break
        if refuse:
            return "451 4.3.0 Temporary failure, try again later"

        if self.delay > 0:
            await asyncio.sleep(self.delay)

        # No awaits from here to the return: storing is atomic w.r.t. the loop.
        try:
            self._store(envelope)
        except Exception:
            log.exception("failed to store message")
            return "451 4.3.0 Local error in processing"
        return "250 OK"

    def _store(self, envelope):
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content
        if isinstance(raw, str):  # only if decode_data were enabled
            raw = raw.encode("utf-8", errors="surrogateescape")
        raw = bytes(raw)

        self.seq += 1
        seq = self.seq
        first = envelope.rcpt_tos[0] if envelope.rcpt_tos else ""
        fname = "%06d-%s.eml" % (seq, sanitise(first))
        path = os.path.join(self.out_dir, fname)
        tmp = os.path.join(self.out_dir, ".%06d.tmp" % seq)
        with open(tmp, "wb") as f:
            f.write(raw)
        os.replace(tmp, path)

        record = {
            "seq": seq,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "file": fname,
            "message_id": extract_message_id(raw),
            "bytes": len(raw),
        }
        try:
            line = json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates from undecodable input
            line = json.dumps(record, ensure_ascii=True).encode("ascii")
        self.index.write(line + b"\n")
        self.index.flush()


class LoggingSMTP(SMTP):
    """An SMTP session that writes down every command it is given."""

    log_file = None
    sessions = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        LoggingSMTP.sessions += 1
        self._session_number = LoggingSMTP.sessions
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._logged(verb, method)

    def _logged(self, verb, method):
        async def logged(arg):
            buffered = getattr(self._reader, "_buffer", b"")
            line = "%d %s%s%s\n" % (
                self._session_number, verb, " " + arg if arg else "",
                " [pipelined]" if buffered else "")
            self.log_file.write(line.encode("utf-8", errors="replace"))
            self.log_file.flush()
            return await method(arg)
        return logged


def parse_args(argv):
    p = argparse.ArgumentParser(description="SMTP sink for Tocsin integration tests")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--temp-fail", action="append", default=[], metavar="PATTERN=N")
    p.add_argument("--perm-fail", action="append", default=[], metavar="PATTERN")
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--pipelining", action="store_true")
    p.add_argument("--log-commands", action="store_true")
    p.add_argument("--exit-on-stdin-eof", action="store_true")
    args = p.parse_args(argv)
    temp = []
    for spec in args.temp_fail:
        pat, eq, n = spec.rpartition("=")
        if not eq or not pat:
            p.error("--temp-fail expects PATTERN=N, got %r" % spec)
        try:
            count = int(n)
        except ValueError:
            p.error("--temp-fail expects PATTERN=N, got %r" % spec)
        temp.append((pat.lower(), count))
    args.temp_fail = temp
    args.perm_fail = [pat.lower() for pat in args.perm_fail]
    return args


async def serve(args):
    os.makedirs(args.out, exist_ok=True)
    sink = Sink(args.out, args.temp_fail, args.perm_fail, args.delay_ms, args.pipelining)
    loop = asyncio.get_running_loop()

    session = SMTP
    if args.log_commands:
        LoggingSMTP.log_file = open(os.path.join(args.out, "commands.log"), "ab")
        session = LoggingSMTP

    def factory():
        return session(
            sink,
            hostname="tocsin-test-smtp",
            data_size_limit=DATA_SIZE_LIMIT,
            enable_SMTPUTF8=True,
            decode_data=False,
        )

    server = await loop.create_server(factory, host=HOST, port=args.port,
                                      backlog=1024, reuse_address=True)
    port = server.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.exit_on_stdin_eof:
        def watch_stdin():
            try:
                while sys.stdin.buffer.read(65536):
                    pass
            except Exception:
                pass
            loop.call_soon_threadsafe(stop.set)
        threading.Thread(target=watch_stdin, daemon=True).start()

    sys.stdout.write("READY %d\n" % port)
    sys.stdout.flush()

    try:
        await stop.wait()
    finally:
        server.close()
        sink.close()


def main(argv=None):
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="smtp_server: %(levelname)s %(name)s: %(message)s")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    # Don't wait for lingering connections or the stdin watcher thread.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
