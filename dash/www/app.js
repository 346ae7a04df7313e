/* bfq dash: the page's logic. Every few seconds it GETs the JSON API (/api/..., docs/dash.md)
 * and redraws: the balance and equity curves and the daily PnL bars (Chart.js), the tables,
 * and the health rows (class "stale", red, when the dash says so). A part whose source is down
 * (503) shows the API's error in place of its data and keeps its last values. It only reads:
 * there is no form, and the API has no route that writes. Money comes as decimal strings and
 * is shown as it comes; only the charts turn it into numbers, to draw. */
'use strict';

var EVERY_MS = 5000;
var token = new URLSearchParams(location.search).get('token');
var range = '7d';
var charts = {};

function api(path) {
  var headers = token ? { Authorization: 'Bearer ' + token } : {};
  return fetch(path, { headers: headers, cache: 'no-store' }).then(function (r) {
    return r.json().then(function (body) {
      if (!r.ok) throw new Error(body && body.error ? body.error : 'HTTP ' + r.status);
      return body;
    });
  });
}

function el(tag, text, cls) {
  var e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function fillRows(tableId, rows, cells, rowClass) {
  var tbody = document.querySelector('#' + tableId + ' tbody');
  tbody.textContent = '';
  rows.forEach(function (r) {
    var tr = el('tr', null, rowClass ? rowClass(r) : '');
    cells(r).forEach(function (c) { tr.appendChild(el('td', c === null || c === undefined ? '–' : c)); });
    tbody.appendChild(tr);
  });
  if (!rows.length) {
    var tr = el('tr', null, 'empty');
    var td = el('td', 'none');
    td.colSpan = 9;
    tr.appendChild(td);
    tbody.appendChild(tr);
  }
}

function showErr(part, err) {
  document.getElementById(part + '-err').textContent = err ? 'unavailable: ' + err.message : '';
}

function age(ms) {
  if (ms === null || ms === undefined || ms < 0) return '–';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  if (ms < 3600000) return Math.floor(ms / 60000) + ' min';
  return Math.floor(ms / 3600000) + ' h';
}

function when(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '–';
}

function chart(id, config) {
  if (typeof Chart === 'undefined') return;
  if (charts[id]) {
    charts[id].data = config.data;
    charts[id].update('none');
    return;
  }
  config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false },
                                 config.options || {});
  charts[id] = new Chart(document.getElementById(id), config);
}

function drawCurve(c) {
  document.getElementById('curve-info').textContent =
    c.asset + ' · ' + c.points + ' snapshots' + (c.t.length < c.points ? ', ' + c.t.length + ' shown' : '');
  document.getElementById('curve').setAttribute('data-points', String(c.t.length));
  var dots = c.t.length < 60 ? 3 : 0; /* a short history shows its points */
  chart('curve', {
    type: 'line',
    data: {
      labels: c.t.map(when),
      datasets: [
        { label: 'balance', data: c.balance.map(Number), borderColor: '#3b82f6', pointRadius: dots },
        { label: 'equity', data: c.equity.map(Number), borderColor: '#f59e0b', pointRadius: dots }
      ]
    },
    options: { scales: { x: { ticks: { maxTicksLimit: 8 } } } }
  });
}

function drawDaily(d) {
  document.getElementById('daily').setAttribute('data-points', String(d.rows.length));
  chart('daily', {
    type: 'bar',
    data: {
      labels: d.rows.map(function (r) { return r.day; }),
      datasets: [{
        label: 'net PnL',
        data: d.rows.map(function (r) { return Number(r.net); }),
        backgroundColor: d.rows.map(function (r) { return Number(r.net) < 0 ? '#ef4444' : '#22c55e'; })
      }]
    }
  });
}

function drawPositions(p) {
  document.getElementById('account').textContent = p.account;
  fillRows('positions', p.positions, function (r) {
    return [r.symbol, r.side, r.amt, r.entry, r.mark, r.upnl, r.stop_qty, r.coverage, r.hard_stops];
  }, function (r) { return r.coverage !== null && Number(r.coverage) < 1 ? 'uncovered' : ''; });
}

function drawOrders(o) {
  var classes = Object.keys(o.by_class).map(function (k) { return k + ' ' + o.by_class[k]; });
  document.getElementById('orders-classes').textContent = classes.join(' · ');
  fillRows('orders', o.orders, function (r) {
    return [r.symbol, r.class, r.side, r.type, r.price, r.trigger, r.qty, r.client_id];
  });
}

function drawState(s) {
  var badge = document.getElementById('tstate');
  badge.textContent = s.state.state;
  badge.className = 'badge ' + s.state.state.toLowerCase();
  var rows = [['state', s.state.state], ['reason', s.state.reason || '–'], ['set by', s.state.src || '–']];
  var reasons = s.ban.reasons || {};
  (s.ban.symbols || []).forEach(function (sym) {
    var why = reasons[sym];
    rows.push(['ban ' + sym, typeof why === 'object' ? JSON.stringify(why) : (why || '–')]);
  });
  if (!(s.ban.symbols || []).length) rows.push(['bans', 'none']);
  fillRows('state', rows, function (r) { return r; });
}

function drawSymbols(s) {
  fillRows('symbols', s.rows, function (r) {
    var rate = r.wins + r.losses ? (100 * r.wins / (r.wins + r.losses)).toFixed(1) + ' %' : '–';
    return [r.symbol, r.realized_pnl, r.commission, r.funding, r.net, r.trades, rate];
  });
}

function drawLosers(l) {
  fillRows('losers', l.trades, function (r) {
    return [when(r.time_ms), r.symbol, r.side, r.price, r.qty, r.realized_pnl];
  });
}

function drawHealth(h) {
  document.getElementById('health-info').textContent =
    h.instances.length + ' instances · ' + h.stale + ' stale';
  fillRows('instances', h.instances, function (r) {
    return [r.role, r.instance, r.source_ip, age(r.last_success_age_ms), r.errors_total,
            r.requests, r.weight, r.ip_weight_minute];
  }, function (r) { return r.stale ? 'stale' : 'fresh'; });
  fillRows('freshness', h.data, function (r) { return [r.kind, r.count, age(r.age_ms)]; },
           function (r) { return r.stale ? 'stale' : 'fresh'; });
}

var parts = [
  ['curve', function () { return '/api/curve?range=' + range; }, drawCurve],
  ['daily', function () { return '/api/daily?range=' + (range === '1d' || range === '7d' ? '30d' : range); }, drawDaily],
  ['positions', function () { return '/api/positions'; }, drawPositions],
  ['orders', function () { return '/api/orders'; }, drawOrders],
  ['state', function () { return '/api/state'; }, drawState],
  ['symbols', function () { return '/api/symbols?range=' + range; }, drawSymbols],
  ['losers', function () { return '/api/losers?range=' + range; }, drawLosers],
  ['health', function () { return '/api/health'; }, drawHealth]
];

function refresh() {
  return Promise.all(parts.map(function (p) {
    /* a source that failed shows its error in its part; a bug in drawing is the page's own
       error: rethrown outside the promise, so window.onerror and the console see it */
    return api(p[1]()).then(function (body) { showErr(p[0]); return body; },
                            function (e) { showErr(p[0], e); return null; })
      .then(function (body) { if (body) p[2](body); })
      .catch(function (e) { setTimeout(function () { throw e; }, 0); });
  })).then(function () {
    document.getElementById('updated').textContent = 'updated ' + new Date().toISOString().slice(11, 19);
    document.body.setAttribute('data-loaded', '1');
  });
}

document.querySelectorAll('#ranges button').forEach(function (b) {
  b.addEventListener('click', function () {
    range = b.getAttribute('data-range');
    document.querySelectorAll('#ranges button').forEach(function (x) { x.className = x === b ? 'on' : ''; });
    refresh();
  });
});
document.getElementById('every').textContent = String(EVERY_MS / 1000);
refresh();
setInterval(refresh, EVERY_MS);
