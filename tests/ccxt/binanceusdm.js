// binanceusdm.js: ccxt's binanceusdm client, unchanged, against `bfq sim`.
//
// Usage: node binanceusdm.js SIM_URL API_KEY SECRET (NODE_PATH holds the pinned ccxt).
// Loads markets, reads balance and positions, places a market order, places, lists and
// cancels a resting limit order, places, lists and cancels a stop (ccxt sends conditional
// orders of linear swaps to the algo API), reads its trades and the income ledger, lists the
// order history, and prints one line per
// step; any exception or wrong answer exits 1 with the reason.
'use strict';
const ccxt = require('ccxt');

const [url, apiKey, secret] = process.argv.slice(2);
const api = {};
for (const k of ['fapiPublic', 'fapiPrivate']) api[k] = url + '/fapi/v1';
for (const k of ['fapiPublicV2', 'fapiPrivateV2']) api[k] = url + '/fapi/v2';
for (const k of ['fapiPublicV3', 'fapiPrivateV3']) api[k] = url + '/fapi/v3';
api.fapiData = url + '/futures/data';

function check(cond, what) {
    if (!cond) throw new Error('check failed: ' + what);
}

async function main() {
    const ex = new ccxt.binanceusdm({
        apiKey, secret, enableRateLimit: false, timeout: 10000,
        urls: { api },
        options: { fetchCurrencies: false, warnOnFetchOpenOrdersWithoutSymbol: false },
    });
    const step = (name, extra) => console.log('ok ' + name + (extra ? ' ' + extra : ''));

    const markets = await ex.loadMarkets();
    const m = markets['BTC/USDT:USDT'];
    check(m && m.swap && m.linear && m.id === 'BTCUSDT', 'BTC/USDT:USDT listed');
    check(!markets['BTC/USDC:USDC'] || markets['BTC/USDC:USDC'].quote === 'USDC', 'USDC quote');
    step('loadMarkets', Object.keys(markets).length + ' markets');

    const bal = await ex.fetchBalance();
    check(bal.USDT && bal.USDT.total > 0 && bal.USDT.free > 0, 'USDT balance ' + JSON.stringify(bal.USDT));
    step('fetchBalance', 'USDT ' + bal.USDT.total);

    const sym = 'BTC/USDT:USDT';
    const mk = await ex.createOrder(sym, 'market', 'buy', 0.003);
    check(mk.id, 'market order id');
    step('createOrder market', mk.id);

    const pos = await ex.fetchPositions([sym]);
    const p = pos.find((x) => x.symbol === sym);
    check(p && p.contracts === 0.003 && p.side === 'long', 'position ' + JSON.stringify(p && p.info));
    step('fetchPositions', p.side + ' ' + p.contracts);

    const t = await ex.fetchTicker(sym);
    const below = ex.priceToPrecision(sym, t.last * 0.9);
    const lim = await ex.createOrder(sym, 'limit', 'buy', 0.002, below);
    let open = await ex.fetchOpenOrders(sym);
    check(open.some((o) => o.id === lim.id), 'limit order open');
    step('fetchOpenOrders', open.length + ' open');
    const cl = await ex.cancelOrder(lim.id, sym);
    check(cl.status === 'canceled', 'limit cancelled: ' + cl.status);
    open = await ex.fetchOpenOrders(sym);
    check(!open.some((o) => o.id === lim.id), 'limit order gone');
    step('cancelOrder', lim.id);

    const stopPx = ex.priceToPrecision(sym, t.last * 0.8);
    const st = await ex.createOrder(sym, 'market', 'sell', 0.003, undefined,
        { stopLossPrice: stopPx, reduceOnly: true });
    check(st.id, 'stop id');
    step('createOrder stop', st.id + ' at ' + stopPx);
    const stops = await ex.fetchOpenOrders(sym, undefined, undefined, { trigger: true });
    check(stops.some((o) => o.id === st.id), 'stop listed ' + JSON.stringify(stops.map((o) => o.id)));
    step('fetchOpenOrders trigger', stops.length + ' open');
    const sc = await ex.cancelOrder(st.id, sym, { trigger: true });
    check(sc, 'stop cancelled');
    const stops2 = await ex.fetchOpenOrders(sym, undefined, undefined, { trigger: true });
    check(!stops2.some((o) => o.id === st.id), 'stop gone');
    step('cancelOrder trigger', st.id);

    const trades = await ex.fetchMyTrades(sym);
    check(trades.length === 1 && trades[0].order === mk.id, 'my trades ' + trades.length);
    step('fetchMyTrades', trades.length + ' trades');
    const ledger = await ex.fetchLedger('USDT');
    check(ledger.length >= 1 && ledger.every((l) => typeof l.id === 'string'), 'ledger');
    step('fetchLedger', ledger.length + ' rows');

    const hist = await ex.fetchOrders(sym);
    check(hist.some((o) => o.id === mk.id) && hist.some((o) => o.id === lim.id), 'order history');
    step('fetchOrders', hist.length + ' orders');
    console.log('ccxt ' + ccxt.version + ': all steps passed');
}

main().catch((e) => {
    console.error('FAIL ' + (e && e.constructor ? e.constructor.name : '') + ': ' + (e && e.message));
    process.exit(1);
});
