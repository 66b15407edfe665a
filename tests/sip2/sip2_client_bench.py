"""The Python `sip2` client (PyPI package Sip2 1.1, not ours) doing
checkouts against the scripted ILS, for benches/sip2.rs to compare with
the kiosk's client in the same run. Not a library.

  sip2_client_bench.py PORT PATRON ITEM...

Connects (plain TCP, cp850, sequence numbers and checksums on), sends one
SC status (99), then one checkout (11) per item, each waiting for its
answer. Prints one JSON line: {"checkouts": n, "ok": n_ok, "secs": s},
timing only the checkouts (not the interpreter start or the connect).
"""

import json
import sys
import tempfile
import time

from Sip2.sip2 import Sip2


def main() -> None:
    port, patron, items = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    sip = Sip2()
    sip.hostName = "127.0.0.1"
    sip.hostPort = port
    sip.tlsEnable = False
    sip.hostEncoding = "cp850"
    sip.institutionId = "MAIN"
    sip.scLocation = "KIOSK-1"
    sip.patron = patron
    sip.loglevel = "ERROR"
    sip.logfile_path = tempfile.gettempdir()
    sip.connect()
    sip.sip_sc_status_response(sip.get_response(sip.sip_sc_status_request()))
    ok = 0
    start = time.perf_counter()
    for item in items:
        # A real nb due date: an all-blank one makes pysip2 drop the line.
        req = sip.sip_checkout_request(item, nbDueDate=int(time.time()) + 14 * 86400)
        r = sip.sip_checkout_response(sip.get_response(req))
        ok += r["fixed"]["Ok"] == "1"
    secs = time.perf_counter() - start
    sip.disconnect()
    print(json.dumps({"checkouts": len(items), "ok": ok, "secs": secs}), flush=True)


if __name__ == "__main__":
    main()
