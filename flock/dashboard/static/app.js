// The flock dashboard's page: renders each snapshot the server streams (server-sent events).
// Everything read from the chain is untrusted text: it is only ever set as textContent.
"use strict";

let latest = null;
let receivedAt = 0;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = String(v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

function short(hex) {
  if (!hex) return "-";
  return hex.length > 14 ? hex.slice(0, 8) + "…" + hex.slice(-4) : hex;
}

function tokens(wei) {
  const decimals = latest && latest.task ? latest.task.token_decimals : 18;
  const unit = 10n ** BigInt(decimals);
  let v = BigInt(wei || "0");
  const neg = v < 0n;
  if (neg) v = -v;
  const whole = v / unit;
  const frac = ((v % unit) * 10000n) / unit;
  let text = whole.toLocaleString("en-US");
  if (frac) text += "." + frac.toString().padStart(4, "0").replace(/0+$/, "");
  return (neg ? "-" : "") + text;
}

function tokenNumber(wei) {
  const decimals = latest && latest.task ? latest.task.token_decimals : 18;
  return Number(BigInt(wei || "0")) / Math.pow(10, decimals);
}

function labelOf(address) {
  const m = (latest.members || []).find((x) => x.address === address);
  return m ? m.label : "unknown";
}

function who(address) {
  return el("span", {class: "who " + labelOf(address), title: address, "data-address": address,
    text: short(address)});
}

function fill(id, ...children) {
  const node = document.getElementById(id);
  node.replaceChildren(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function renderTask(s) {
  const t = s.task;
  const round = document.getElementById("round");
  round.dataset.round = String(t.round);
  let text = t.round === 0 ? "not started" : `${t.round} of ${t.rounds}`;
  if (t.round > t.rounds) text = `${t.round} (closing round after ${t.rounds})`;
  if (t.ended) text += ", ended";
  round.textContent = text;
  const phase = document.getElementById("phase");
  phase.textContent = t.phase === "task" ? "ended" : t.phase.replace("_", " ");
  phase.dataset.phase = t.phase;
  fill("pool", `${tokens(t.reward_pool)} ${t.token_symbol}`);
  fill("members", String(t.members));
  const facts = [
    ["task contract", t.address], ["token", t.token], ["chain id", String(t.chain_id)],
    ["creator", t.creator], ["total staked", `${tokens(t.total_staked)} ${t.token_symbol}`],
    ["unclaimed rewards", `${tokens(t.total_claimable)} ${t.token_symbol}`],
    ["global model", `${short(t.global_model.hash)} (round ${t.global_model.round})`],
    ["pending aggregate", t.pending_round ? `round ${t.pending_round}` : "none"],
    ["committee", `${t.params.proposersPerRound} proposers, up to ${t.params.maxVoters} voters ` +
      `(at least ${t.params.minVoters})`],
    ["block", `${s.block} (chain time ${new Date(s.chain_time * 1000).toISOString()})`],
  ];
  fill("facts", ...facts.flatMap(([k, v]) => [el("dt", {text: k}), el("dd", {text: v, title: v})]));
}

function renderCountdown() {
  const node = document.getElementById("countdown");
  if (!latest || !latest.task || latest.task.seconds_left === null) {
    node.textContent = latest && latest.task && latest.task.phase === "settle" ? "(settle now)" : "";
    return;
  }
  const left = Math.max(0, latest.task.seconds_left - Math.floor((Date.now() - receivedAt) / 1000));
  const m = Math.floor(left / 60), sec = left % 60;
  node.textContent = `closes in ${m}:${String(sec).padStart(2, "0")} (chain time)`;
}

function proposalRows(r) {
  const head = el("tr", {}, ...["#", "proposer", "update hash", "samples", "fetched",
    "median score", "median Δ vs base", "result"].map((h) => el("th", {text: h})));
  const rows = r.proposals.map((p) => {
    const voters = p.fetched + p.unavailable;
    const result = p.accepted === null ? "pending"
      : p.accepted ? "accepted" : p.declined ? "declined" : "rejected";
    return el("tr", {class: "proposal " + result, "data-proposer": p.proposer,
      "data-accepted": p.accepted === null ? "" : String(p.accepted), "data-index": p.index},
      el("td", {text: p.index}), el("td", {}, who(p.proposer)),
      el("td", {class: "hash", title: p.hash, text: short(p.hash)}),
      el("td", {text: p.samples}),
      el("td", {text: voters ? `${p.fetched} of ${voters}` + (p.unavailable ? " (unavailable)" : "")
        : "-"}),
      el("td", {text: p.median_score === null ? "-" : p.median_score}),
      el("td", {text: p.median_diff === null ? "-" : (p.median_diff > 0 ? "+" : "") + p.median_diff}),
      el("td", {class: "result", text: result}));
  });
  return el("table", {class: "proposals"}, el("thead", {}, head), el("tbody", {}, ...rows));
}

function voterRows(r) {
  const head = el("tr", {}, ...["voter", "committed", "revealed", "scores (base first)",
    "attested", "slashed"].map((h) => el("th", {text: h})));
  const rows = r.voters.map((v) => el("tr", {class: "voter", "data-voter": v.address},
    el("td", {}, who(v.address)), el("td", {text: v.committed ? "yes" : "no"}),
    el("td", {text: v.revealed ? "yes" : v.committed ? "not revealed" : "-"}),
    el("td", {class: "scores", text: v.scores ? v.scores.map((x) => (x === 65535 ? "n/a" : x))
      .join(" ") : "-"}),
    el("td", {class: "hash", title: v.attestation || "", text: short(v.attestation)}),
    el("td", {class: v.slashed.length ? "slashed" : "", text: v.slashed.join(", ") || "-"})));
  return el("table", {class: "voters"}, el("thead", {}, head), el("tbody", {}, ...rows));
}

function renderRound(r) {
  const facts = [
    `seed ${short(r.seed)}`, `trains from round ${r.base_round}'s aggregate`,
    `${r.roster_size} in the draw`,
  ];
  if (r.attested) {
    facts.push(`adopted round ${r.attested.round}'s aggregate ${short(r.attested.hash)} ` +
      `(${r.attested.votes} of ${r.attested.reveals} voters)`);
  }
  if (r.voided_round !== null) facts.push(`voided round ${r.voided_round}'s aggregate`);
  if (r.aggregate_hash) {
    facts.push(`its aggregate ${short(r.aggregate_hash)} adopted in round ${r.aggregate_adopted_in}`);
  }
  const slashes = r.slashes.map((x) => el("li", {}, who(x.participant),
    ` ${x.reason.replaceAll("_", " ")}: ${tokens(x.amount)}`));
  const accepted = r.proposals.filter((p) => p.accepted).length;
  const declined = r.proposals.filter((p) => p.declined).length;
  const verdict = r.settled && r.outcome === "settled"
    ? `${accepted} accepted, ` + (declined ? `${declined} declined, ` : "") +
      `${r.proposals.length - accepted - declined} rejected` : r.verdict;
  return el("section", {class: "round " + r.outcome, "data-round": r.round,
    "data-settled": String(r.settled), "data-outcome": r.outcome},
    el("h3", {}, `Round ${r.round}${r.closing ? " (closing)" : ""} `,
      el("span", {class: "verdict", text: verdict})),
    el("p", {class: "round-facts", text: facts.join(" · ")}),
    r.proposals.length ? proposalRows(r) : el("p", {class: "muted", text: "no proposals"}),
    r.voters.length ? voterRows(r) : el("p", {class: "muted", text: "no voters yet"}),
    slashes.length ? el("ul", {class: "slashes"}, ...slashes) : null,
    r.settled ? el("p", {class: "muted", text: `credited ${tokens(r.credited_total)}, ` +
      `slashed ${tokens(r.slashed_total)}`}) : null);
}

function renderLedger(s) {
  const ledger = s.ledger;
  const rounds = ledger.checkpoints.filter((c) => c !== "now");
  const order = {attacker: 0, unknown: 1, honest: 2}; // honest on top: a slashed line shows
  const drawn = s.members.slice().sort((a, b) => order[a.label] - order[b.label]);
  const series = (key) => drawn.map((m) => ({
    name: `${m.address} (${m.label})`, cls: m.label,
    values: rounds.map((c) => tokenNumber(ledger.members[m.address][key][ledger.checkpoints
      .indexOf(c)])),
  }));
  const labels = rounds.map((c) => (c === "0" ? "joined" : c));
  fill("stake-chart", window.flockCharts.lineChart(labels, series("stake"),
    {xLabel: "round", yLabel: "stake", title: "stake per member"}));
  fill("credit-chart", window.flockCharts.lineChart(labels, series("credited"),
    {xLabel: "round", yLabel: "credited", title: "rewards credited per member"}));
  const head = el("tr", {}, el("th", {text: "member"}), el("th", {text: "run says"}),
    ...labels.map((c) => el("th", {text: c === "joined" ? "stake joined" : `after ${c}`})),
    el("th", {text: "credited"}), el("th", {text: "claimed"}), el("th", {text: "slashed"}),
    el("th", {text: "stake now"}), el("th", {text: "claimable"}));
  const rows = s.members.map((m) => {
    const row = ledger.members[m.address];
    const last = ledger.checkpoints.length - 1;
    const behaviour = Object.entries(m.behaviours).filter(([, v]) => v !== "honest")
      .map(([k, v]) => `${k}: ${v}`).join(", ");
    return el("tr", {class: "member " + m.label, "data-address": m.address, "data-label": m.label},
      el("td", {}, who(m.address)), el("td", {text: behaviour || m.label}),
      ...rounds.map((c) => {
        const wei = row.stake[ledger.checkpoints.indexOf(c)];
        return el("td", {class: "num", "data-checkpoint": c, "data-wei": wei, text: tokens(wei)});
      }),
      el("td", {class: "num", text: tokens(row.credited[last])}),
      el("td", {class: "num", text: tokens(row.claimed[last])}),
      el("td", {class: "num" + (row.slashed[last] !== "0" ? " slashed" : ""),
        text: tokens(row.slashed[last])}),
      el("td", {class: "num", "data-stake-now": m.stake, text: tokens(m.stake)}),
      el("td", {class: "num", text: tokens(m.claimable)}));
  });
  fill("ledger-table", el("thead", {}, head), el("tbody", {}, ...rows));
}

function renderProgress(s) {
  const q = s.quality || [];
  fill("quality-chart", q.length
    ? window.flockCharts.lineChart(q.map((x) => String(x.round)),
      [{name: "accuracy", cls: "quality", values: q.map((x) => x.accuracy)}],
      {xLabel: "round", yLabel: "accuracy", yMax: 1, title: "global model accuracy"})
    : el("p", {class: "muted", text: "this run reports no accuracy"}));
  const rounds = Object.keys(s.gas).filter((k) => k !== "0" && k !== "end")
    .sort((a, b) => Number(a) - Number(b));
  const extra = [];
  if (s.gas["0"]) extra.push(`enrolment ${s.gas["0"].toLocaleString()}`);
  if (s.gas.end) extra.push(`after the end ${s.gas.end.toLocaleString()}`);
  fill("gas-chart", rounds.length
    ? window.flockCharts.barChart(rounds, rounds.map((k) => s.gas[k]),
      {xLabel: "round", yLabel: "gas", title: "gas per round"})
    : el("p", {class: "muted", text: "no round yet"}),
  extra.length ? el("p", {class: "muted", text: extra.join(" · ")}) : null);
}

function render(s) {
  latest = s;
  receivedAt = Date.now();
  const error = document.getElementById("error");
  error.hidden = s.ok;
  error.textContent = s.ok ? "" : s.error + (s.stale ? " (showing the last data read)" : "");
  document.getElementById("connection").dataset.state = s.ok ? "live" : "error";
  document.getElementById("connection").textContent = s.ok ? `live · block ${s.block}` : "error";
  document.body.dataset.block = s.block === undefined ? "" : String(s.block);
  fill("source", s.source || "");
  if (!s.task) return;
  renderTask(s);
  renderCountdown();
  renderLedger(s);
  renderProgress(s);
  fill("rounds", ...s.rounds.slice().reverse().map(renderRound));
}

function connect() {
  const stream = new EventSource("/api/stream");
  stream.addEventListener("snapshot", (e) => render(JSON.parse(e.data)));
  stream.onerror = () => {
    const c = document.getElementById("connection");
    c.dataset.state = "reconnecting";
    c.textContent = "reconnecting";
  };
}

document.addEventListener("DOMContentLoaded", () => {
  connect();
  setInterval(renderCountdown, 1000);
});
