#!/usr/bin/python3
"""The drill's writer: inserts numbered rows, one autocommit INSERT each,
through a libpq multi-host string, and appends "N UNIXTIME" to ACKFILE for
every row whose COMMIT returned success, and "UNIXTIME" to ERRFILE for every
failed connection or statement. A number is never reused: a row whose
outcome is unknown (connection lost mid-commit) is simply not listed.
Reconnects by itself; stops cleanly on SIGTERM.

usage: writer.py CONNINFO ACKFILE ERRFILE"""
import signal
import sys
import time

import psycopg2

stop = False


def on_term(signum, frame):
    global stop
    stop = True


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    conninfo, ackpath, errpath = sys.argv[1], sys.argv[2], sys.argv[3]
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    n = 0
    conn = None
    errors = 0
    with open(ackpath, "a", buffering=1) as ack, \
            open(errpath, "a", buffering=1) as err:
        while not stop:
            if conn is None:
                try:
                    conn = psycopg2.connect(conninfo)
                    conn.autocommit = True
                except psycopg2.Error:
                    errors += 1
                    err.write("%.3f\n" % time.time())
                    time.sleep(0.1)
                    continue
            n += 1
            try:
                with conn.cursor() as cur:
                    # No statement_timeout: a commit cancelled while waiting
                    # for the standby is reported as success although the
                    # standby may not have it.
                    cur.execute("INSERT INTO drill (n) VALUES (%s)", (n,))
            except psycopg2.Error:
                errors += 1
                err.write("%.3f\n" % time.time())
                try:
                    conn.close()
                except psycopg2.Error:
                    pass
                conn = None
                continue
            ack.write("%d %.3f\n" % (n, time.time()))
    print("writer: %d rows tried, %d errors" % (n, errors), file=sys.stderr)


if __name__ == "__main__":
    main()
