#!/usr/bin/env python3
"""strategy_demo.py: a complete bfq strategy in Python, to copy and change.

It does what `bfq trader --strategy demo` does, through Redis only (docs/trading.md):
  - snapshot from the keys: bfq:universe, bfq:symbol:<SYM> (filters), bfq:kline:1m:<SYM>
    (bars), bfq:ticks, bfq:acct:<acct>:pos; again after every reconnect, since pub/sub drops
    messages while disconnected;
  - then the channels bfq:ch:kline:1m, bfq:ch:tick and bfq:ch:acct:<acct>;
  - bars keyed by their absolute open time; a tick widens the last bar and moves its close;
  - signals: open long when flat and the 1-minute gain is above --open-pct, close when long and
    the 1-minute change is below --close-pct;
  - intents appended to bfq:intents:<acct> with an id derived from (strategy, symbol, action,
    bar open time, part), so replicas of this script agree and the gateway sends once;
  - sizes exact with decimal.Decimal (never floats): notional / price floored to the step, at
    least minQty and the minimum notional, split by maxQty.
Outcomes are printed from bfq:ch:intent:<acct>.

Needs the Debian package python3-redis. Run with the Redis user `trader`:
  examples/strategy_demo.py --redis redis://trader:PASS@127.0.0.1:6379 --account main
"""
import argparse
import hashlib
import json
import signal
import sys
import time
from decimal import Decimal, ROUND_DOWN

import redis

MINUTE = 60000


def derive_id(strategy, sym, action, bar_open, part):
    """The same signal gives the same id on every replica (never a counter or a clock)."""
    h = hashlib.sha256(f"{strategy}|{sym}|{action}|{bar_open}|{part}".encode()).hexdigest()
    return "p" + h[:20]


def floor_step(q, step):
    return (q / step).to_integral_value(rounding=ROUND_DOWN) * step if step > 0 else q


def size(filters, qty, price, market, reduce):
    """Quantities that pass every filter, or (None, reason)."""
    step = filters["marketStepSize" if market else "stepSize"] or filters["stepSize"]
    minq = filters["marketMinQty" if market else "minQty"] or filters["minQty"]
    maxq = filters["marketMaxQty" if market else "maxQty"] or filters["maxQty"]
    q = floor_step(qty, step)
    if q <= 0 or q < minq:
        return None, "below_min_qty"
    ok = lambda part: part >= minq and (reduce or part * price >= filters["minNotional"])
    if not ok(q):
        return None, "below_min_notional"
    parts = []
    while q > 0:
        part = min(q, maxq) if maxq > 0 else q
        if not ok(part):
            break  # a tail too small is dropped, never rounded up
        parts.append(part)
        q -= part
    return parts, None


class Book:
    def __init__(self, r, prefix, account):
        self.r, self.p, self.acct = r, prefix, account
        self.filters, self.bars, self.pos = {}, {}, {}

    def load(self):
        for sym in self.r.lrange(self.p + "universe", 0, -1):
            h = self.r.hgetall(self.p + "symbol:" + sym)
            keys = ("tickSize", "stepSize", "minQty", "maxQty", "marketStepSize",
                    "marketMinQty", "marketMaxQty", "minNotional")
            if "stepSize" in h:
                self.filters[sym] = {k: Decimal(h.get(k, "0")) for k in keys}
            self.load_bars(sym)
        for sym, v in self.r.hgetall(self.p + "ticks").items():
            t = json.loads(v)
            self.tick(sym, t["b"], t["a"], t["T"])
        self.pos = {}
        for field, v in self.r.hgetall(f"{self.p}acct:{self.acct}:pos").items():
            self.position(field, json.loads(v))

    def load_bars(self, sym):
        raw = self.r.hget(f"{self.p}kline:1m:{sym}", "bars")
        if raw:
            self.bars[sym] = {b[0]: [Decimal(b[1]), Decimal(b[2]), Decimal(b[3]), Decimal(b[4])]
                              for b in json.loads(raw)}

    def update(self, sym, bars):
        have = self.bars.get(sym)
        if not have:
            return self.load_bars(sym)
        for b in bars:
            if b[0] not in have and b[0] - MINUTE not in have:
                return self.load_bars(sym)  # a gap: reload from the key
            have[b[0]] = [Decimal(b[1]), Decimal(b[2]), Decimal(b[3]), Decimal(b[4])]

    def tick(self, sym, bid, ask, t):
        have = self.bars.get(sym)
        if not have:
            return
        bid, ask, last = Decimal(bid), Decimal(ask), max(have)
        open_time = t - t % MINUTE
        if open_time < last:
            return
        if open_time > last:
            have[open_time] = [have[last][3]] * 4
        o, h, l, c = have[open_time]
        have[open_time] = [o, max(h, ask), min(l, bid), ask if bid + ask >= 2 * o else bid]

    def position(self, field, rec):
        sym, _, side = field.partition(":")
        if side == "BOTH":
            self.pos[sym] = Decimal(rec.get("amt", "0"))

    def change_pct(self, sym):
        have = self.bars.get(sym) or {}
        if len(have) < 2:
            return None, None
        last = max(have)
        if last - MINUTE not in have or have[last - MINUTE][3] <= 0:
            return None, None
        prev = have[last - MINUTE][3]
        return (have[last][3] - prev) * 100 / prev, last


class Strategy:
    def __init__(self, book, args):
        self.book, self.args = book, args
        self.stream = f"{args.prefix}intents:{args.account}"
        self.sent = set()

    def emit(self, sym, action, bar_open, parts, side, reduce, cls):
        for i, q in enumerate(parts):
            iid = derive_id("pydemo", sym, action, bar_open, i)
            if iid in self.sent:
                continue
            self.sent.add(iid)
            fields = {"id": iid, "op": "order", "sym": sym, "side": side, "type": "MARKET",
                      "qty": str(q), "reduce": "1" if reduce else "0", "class": cls,
                      "src": "pydemo", "t": str(int(time.time() * 1000))}
            self.book.r.xadd(self.stream, fields, maxlen=100000, approximate=True)
            print(f"intent {iid} {action} {sym} {side} {q}", flush=True)

    def evaluate(self, sym):
        f = self.book.filters.get(sym)
        pct, bar_open = self.book.change_pct(sym)
        if f is None or pct is None:
            return
        amt = self.book.pos.get(sym, Decimal(0))
        close = self.book.bars[sym][bar_open][3]
        if amt == 0 and pct > self.args.open_pct:
            parts, why = size(f, self.args.notional / close, close, True, False)
            if parts:
                self.emit(sym, "open", bar_open, parts, "BUY", False, "to")
        elif amt > 0 and pct < self.args.close_pct:
            parts, why = size(f, amt, close, True, True)
            if parts:
                self.emit(sym, "close", bar_open, parts, "SELL", True, "tc")


def run(args):
    r = redis.Redis.from_url(args.redis, decode_responses=True)
    book = Book(r, args.prefix, args.account)
    strat = Strategy(book, args)
    ps = r.pubsub(ignore_subscribe_messages=True)
    ps.subscribe(f"{args.prefix}ch:kline:1m", f"{args.prefix}ch:tick",
                 f"{args.prefix}ch:acct:{args.account}", f"{args.prefix}ch:intent:{args.account}")
    book.load()  # after subscribing: nothing published meanwhile is missed
    print("ready", flush=True)
    for sym in list(book.filters):
        strat.evaluate(sym)
    for m in ps.listen():
        ch, data = m["channel"], json.loads(m["data"])
        if ch.endswith("ch:kline:1m"):
            book.update(data["s"], data["bars"])
            strat.evaluate(data["s"])
        elif ch.endswith("ch:tick"):
            for sym, (bid, ask, t) in data["ticks"].items():
                book.tick(sym, bid, ask, t)
                strat.evaluate(sym)
        elif ":ch:intent:" in ch:
            print("outcome", json.dumps(data), flush=True)
        else:
            for field, rec in data.get("pos", {}).items():
                book.position(field, rec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--redis", required=True, help="redis://user:pass@host:port/db")
    ap.add_argument("--prefix", default="bfq:")
    ap.add_argument("--account", default="main")
    ap.add_argument("--open-pct", type=Decimal, default=Decimal("1"))
    ap.add_argument("--close-pct", type=Decimal, default=Decimal("-0.5"))
    ap.add_argument("--notional", type=Decimal, default=Decimal("100"))
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    backoff = 0.1
    while True:
        try:
            run(args)
        except KeyboardInterrupt:
            return 0
        except redis.ConnectionError as e:  # resync from the keys after reconnecting
            print(f"redis: {e}; reconnecting in {backoff:.1f}s", file=sys.stderr, flush=True)
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


if __name__ == "__main__":
    sys.exit(main())
