/* Calico for DC/OS status console: refreshes the server-rendered page from the JSON API and
 * sends operator actions. Every URL is relative to the page (data-root), so it works behind
 * DC/OS Admin Router; every value from the cluster is inserted as text, never as HTML. */
(function () {
  "use strict";

  const body = document.body;
  const ROOT = body.dataset.root || "./";
  const REFRESH_MS = Number(body.dataset.refreshMs) || 2000;
  const ACTIONS_ON = body.dataset.actions === "on";

  /* ---------- wording (mirrors web/view.py) ---------- */

  function duration(seconds) {
    if (seconds === null || seconds === undefined || seconds < 0) return "—";
    const s = Math.floor(seconds);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }

  function nowSeconds() {
    return Date.now() / 1000;
  }

  function age(at) {
    return at === null || at === undefined ? "—" : duration(Math.max(0, nowSeconds() - at)) + " ago";
  }

  function readinessText(health) {
    if (!health || health.ok !== false) return "";
    const reasons = (health.reasons || []).join("; ") || "unknown";
    return "Not ready: " + reasons + ". Nothing new is decided or launched until this clears; " +
      "tasks already running go on, and this page shows the last recorded state.";
  }

  function uninstallText(doc) {
    const uninstall = (doc.rollout || {}).uninstall;
    if (!uninstall) return "";
    const skipped = (uninstall.skipped || []).map((a) => a.hostname || a.id);
    const stays = skipped.length ? " Skipped by an operator, Calico stays on: " + skipped.join(", ") + "." : "";
    if ((doc.framework || {}).torn_down) {
      return "Calico is uninstalled: the framework is torn down and its state removed " +
        "from etcd; DC/OS removes this service next." + stays;
    }
    return "Uninstalling Calico (requested by " + uninstall.requested_by + " " + age(uninstall.requested_at) +
      ": " + uninstall.why + "): agents are put back as restart slots allow, and the framework " +
      "tears itself down once every agent is uninstalled or skipped." + stays;
  }

  function label(state) {
    return String(state || "").replace(/_/g, " ");
  }

  /* ---------- DOM building: text only ---------- */

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "hidden") node.hidden = true;
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child);
    }
    return node;
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function setText(id, text) {
    const node = byId(id);
    if (node) node.textContent = text;
  }

  function networkText(network) {
    if (!network) return "";
    if (network.state === "verified") {
      return "verified " + (network.ip || "(no address reported)") + " · " + age(network.at);
    }
    if (network.state === "failed") return "failed: " + (network.error || "no reason given");
    if (network.state === "verifying") {
      return "verifying" + (network.error ? " (last try: " + network.error + ")" : "");
    }
    if (network.state === "skipped") return "not verified: skipped by an operator";
    return "not verified yet";
  }

  function badge(state) {
    return el("span", { class: "badge state-" + state }, label(state));
  }

  function chip(step) {
    const title = step.name + ": " + step.state + ", attempt " + step.attempts +
      (step.message ? ": " + step.message : "");
    return el("span", { class: "chip step-" + step.state, title: title },
      el("span", { class: "chip-name" }, step.name),
      el("span", { class: "chip-state" }, step.state),
      step.attempts > 1 ? el("span", { class: "chip-attempts" }, "×" + step.attempts) : null);
  }

  function lastMessage(agent) {
    let latest = null;
    for (const step of agent.steps || []) {
      if (!step.message) continue;
      if (latest === null || (step.updated_at || 0) > (latest.updated_at || 0)) latest = step;
    }
    return latest;
  }

  function actionButton(action, agent, small) {
    return el("button", {
      type: "button", class: small ? "btn btn-small" : "btn",
      "data-action": action, "data-agent": agent.id, "data-host": agent.hostname,
    }, action === "retry" ? "Retry" : "Skip");
  }

  function renderEvents(events, hostnames) {
    if (!events.length) return [el("li", { class: "muted" }, "no events yet")];
    return events.map((event) => el("li", {},
      el("span", { class: "age" }, age(event.at)), " ",
      el("span", { class: "kind" }, event.kind || ""), " ",
      el("span", { class: "event-text" },
        hostnames && event.agent_id ? el("a", { href: ROOT + "agents/" + encodeURIComponent(event.agent_id) },
          hostnames.get(event.agent_id) || event.agent_id) : null,
        hostnames && event.agent_id ? ": " : null,
        event.message || "",
        event.by ? el("span", { class: "muted" }, " by " + event.by) : null)));
  }

  function setLive(ok, text) {
    const live = byId("live");
    if (!live) return;
    live.dataset.state = ok ? "ok" : "error";
    live.textContent = text;
  }

  async function getJSON(url) {
    const response = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.json();
  }

  function every(refresh) {
    async function tick() {
      try {
        await refresh();
        setLive(true, "live · " + new Date().toLocaleTimeString());
      } catch (err) {
        setLive(false, "connection lost, retrying");
      }
      window.setTimeout(tick, REFRESH_MS);
    }
    return tick;
  }

  /* ---------- the rollout overview ---------- */

  function statusPage() {
    const pageSize = Number(body.dataset.pageSize) || 50;
    const eventCount = Number(body.dataset.events) || 8;
    const stateSelect = byId("filter-state");
    const search = byId("filter-q");
    let offset = Number(new URLSearchParams(window.location.search).get("offset")) || 0;
    let inFlight = 0;

    function filterParams() {
      const params = new URLSearchParams();
      if (stateSelect.value) params.set("state", stateSelect.value);
      if (search.value.trim()) params.set("q", search.value.trim());
      if (offset) params.set("offset", String(offset));
      return params;
    }

    // Host names by agent id: the listed agents plus the slot holders, which may be off-page.
    function hostnameMap(doc) {
      const names = new Map(Object.entries((doc.page || {}).slot_holders || {}));
      for (const agent of doc.agents || []) names.set(agent.id, agent.hostname);
      return names;
    }

    function renderSummary(doc) {
      const rollout = doc.rollout || {};
      const counts = rollout.counts || {};
      const control = rollout.control || {};
      const budget = rollout.budget || {};
      const done = rollout.mode === "uninstall" ? " agents uninstalled" : " agents complete";
      const headline = (counts.complete || 0) + " of " + (counts.total || 0) + done;
      setText("headline", headline);
      document.title = headline + " · Calico for DC/OS";
      const progress = byId("progress");
      progress.max = counts.total || 1;
      progress.value = counts.complete || 0;
      byId("rollout-state").replaceChildren(badge(rollout.state));
      for (const key of ["in_progress", "pending", "failed"]) setText("count-" + key, String(counts[key] || 0));
      setText("count-gone", String(rollout.gone || 0));
      const max = budget.max_concurrent_restarts;
      setText("slots", (budget.in_use || 0) + " of " + (max === null || max === undefined ? "?" : max));
      const names = hostnameMap(doc);
      setText("slot-holders", (budget.holders || []).map((id) => names.get(id) || id).join(", "));
      setText("unit-restarts", String(rollout.unit_restarts || 0));
      const started = rollout.started_at;
      const elapsed = started ? (rollout.completed_at || nowSeconds()) - started : null;
      setText("elapsed", duration(elapsed));
      setText("eta", rollout.state === "complete" ? "done" : duration(rollout.eta_s));
      let banner = "";
      if (control.paused) {
        banner = "Paused by " + (control.by || "unknown") + " " + age(control.at) + (control.why ? ": " + control.why : "");
      } else if (rollout.reason) {
        banner = rollout.reason;
      }
      if (ACTIONS_ON) {
        byId("pause-button").hidden = Boolean(control.paused);
        byId("resume-button").hidden = !control.paused;
      }
      setText("banner-text", banner);
      byId("banner").hidden = !banner;
      const readiness = readinessText(doc.health);
      setText("readiness-text", readiness);
      byId("readiness").hidden = !readiness;
      const uninstall = uninstallText(doc);
      setText("uninstall-text", uninstall);
      byId("uninstall-banner").hidden = !uninstall;
    }

    function renderRow(agent) {
      const last = lastMessage(agent);
      return el("tr", { "data-agent-id": agent.id, class: "row-" + agent.state },
        el("td", { class: "host" }, el("a", { href: ROOT + "agents/" + encodeURIComponent(agent.id) }, agent.hostname)),
        el("td", { class: "mono agent-id" }, agent.id),
        el("td", {}, agent.role),
        el("td", { class: "state" }, badge(agent.state),
          agent.holds_restart_slot ? " " : null,
          agent.holds_restart_slot ? el("span", { class: "slot-mark", title: "holds a restart slot" }, "slot") : null),
        el("td", { class: "steps" }, ...(agent.steps || []).map(chip)),
        el("td", { class: "network network-" + ((agent.network || {}).state || "none") },
          networkText(agent.network)),
        el("td", { class: "restarts" }, String(agent.unit_restarts || 0)),
        el("td", { class: "message" }, ...(last ? [
          el("span", { class: "msg" }, last.message),
          el("span", { class: "age" }, last.name + " · " + age(last.updated_at)),
        ] : [])),
        el("td", { class: "waiting" }, agent.waiting_reason || ""),
        el("td", { class: "row-actions" }, ...(agent.state === "failed" && ACTIONS_ON
          ? [actionButton("retry", agent, true), actionButton("skip", agent, true)] : [])));
    }

    // Rows and cells whose content did not change stay the same elements: replacing them
    // at every refresh would drop a click whose press and release straddle the refresh
    // (a click needs both on one element).
    function renderAgents(doc) {
      const body = byId("agent-rows");
      const shownRows = new Map([...body.children].map((row) => [row.dataset.agentId, row]));
      const rows = (doc.agents || []).map((agent) => {
        const fresh = renderRow(agent);
        const row = shownRows.get(agent.id);
        if (!row || row.children.length !== fresh.children.length) return fresh;
        row.className = fresh.className;
        [...fresh.children].forEach((cell, index) => {
          if (row.children[index].outerHTML !== cell.outerHTML) row.children[index].replaceWith(cell);
        });
        return row;
      });
      if (rows.length !== body.children.length || rows.some((row, i) => body.children[i] !== row)) {
        body.replaceChildren(...rows);
      }
      const page = doc.page || { total: (doc.agents || []).length, offset: 0, limit: pageSize };
      const shown = (doc.agents || []).length;
      setText("page-info", page.total
        ? (page.offset + 1) + "–" + (page.offset + shown) + " of " + page.total
        : "no agents match");
      byId("prev-page").hidden = page.offset === 0;
      byId("next-page").hidden = page.offset + pageSize >= page.total;
    }

    async function refresh() {
      const ticket = ++inFlight;
      const params = filterParams();
      params.set("limit", String(pageSize));
      const [doc, recent] = await Promise.all([
        getJSON(ROOT + "v1/status?" + params.toString()),
        getJSON(ROOT + "v1/events?limit=" + eventCount),
      ]);
      if (ticket !== inFlight) return; // a newer filter has been applied meanwhile
      renderSummary(doc);
      renderAgents(doc);
      byId("events").replaceChildren(...renderEvents(recent.events || [], hostnameMap(doc)));
    }

    function applyFilters() {
      const query = filterParams().toString();
      window.history.replaceState(null, "", query ? "?" + query : ROOT);
      refresh().catch(() => setLive(false, "connection lost, retrying"));
    }

    let debounce = 0;
    search.addEventListener("input", () => {
      window.clearTimeout(debounce);
      debounce = window.setTimeout(() => { offset = 0; applyFilters(); }, 200);
    });
    stateSelect.addEventListener("change", () => { offset = 0; applyFilters(); });
    byId("filters").addEventListener("submit", (event) => { event.preventDefault(); offset = 0; applyFilters(); });
    byId("prev-page").addEventListener("click", (event) => {
      event.preventDefault();
      offset = Math.max(0, offset - pageSize);
      applyFilters();
    });
    byId("next-page").addEventListener("click", (event) => {
      event.preventDefault();
      offset += pageSize;
      applyFilters();
    });
    window.setTimeout(every(refresh), REFRESH_MS);
    return refresh;
  }

  /* ---------- one agent ---------- */

  function agentPage() {
    const agentId = body.dataset.agentId;

    function renderHistory(step) {
      const history = step.history || [];
      if (!history.length) {
        return step.task_id ? el("p", { class: "mono muted" }, step.task_id)
          : el("p", { class: "muted" }, "no task launched yet");
      }
      const headings = ["Task", "State", "Attempt", "Message", "On the host", "Started", "Updated"];
      return el("table", { class: "history" },
        el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", {}, h)))),
        el("tbody", {}, ...history.map((task) => el("tr", {},
          el("td", { class: "mono" }, task.task_id || ""),
          el("td", {}, task.state || ""),
          el("td", {}, String(task.attempt ?? "")),
          el("td", { class: "task-message" }, task.message || ""),
          el("td", { class: "task-changes" }, ...(task.report ? [task.report.summary,
            task.report.duration_s === null || task.report.duration_s === undefined ? null
              : el("span", { class: "muted" }, " (run took " + duration(task.report.duration_s) + ")")] : [])),
          el("td", {}, age(task.started_at)),
          el("td", {}, age(task.updated_at))))));
    }

    function renderStep(step) {
      return el("article", { class: "step-card" },
        el("header", {}, chip(step), " ", el("span", { class: "muted" },
          "attempt " + step.attempts + (step.disruptive ? " · disruptive" : "") + " · updated " + age(step.updated_at))),
        step.message ? el("p", { class: "msg" }, step.message) : null,
        step.restart_reason ? el("p", { class: "restart-reason" }, "Needs a restart: " + step.restart_reason) : null,
        renderHistory(step));
    }

    async function refresh() {
      const agent = await getJSON(ROOT + "v1/agents/" + encodeURIComponent(agentId));
      setText("agent-host", agent.hostname);
      byId("agent-state").replaceChildren(badge(agent.state));
      setText("agent-waiting", agent.waiting_reason || "");
      byId("agent-waiting").hidden = !agent.waiting_reason;
      byId("agent-slot").hidden = !agent.holds_restart_slot;
      setText("agent-restarts", String(agent.unit_restarts || 0));
      const network = byId("agent-network");
      if (network) {
        network.className = "network network-" + ((agent.network || {}).state || "none");
        network.textContent = "Network: " + networkText(agent.network);
      }
      byId("agent-steps").replaceChildren(...(agent.steps || []).map(renderStep));
      byId("agent-events").replaceChildren(...renderEvents(agent.events || [], null));
    }

    window.setTimeout(every(refresh), REFRESH_MS);
    return refresh;
  }

  /* ---------- operator actions ---------- */

  /* Who acts: a DC/OS user whose login Admin Router passes on (the scheduler verifies it),
   * else the holder of the operator token. The token is kept in this closure for the life
   * of the page only: every service under Admin Router shares the origin, so any storage
   * (sessionStorage included) would be readable by the others. */
  function actions(refreshNow) {
    const dialog = byId("action-dialog");
    const form = byId("action-form");
    const tokenField = byId("token-field");
    const tokenInput = byId("action-token");
    const reasonInput = byId("action-reason");
    const who = byId("action-who");
    let operatorToken = "";
    let dcosUser = null;
    let pending = null;

    async function learnWho() {
      try {
        const answer = await getJSON(ROOT + "v1/operator");
        dcosUser = answer.via === "dcos" ? answer.operator : null;
      } catch (err) {
        dcosUser = null;
      }
    }

    function askForToken() {
      return !operatorToken && !dcosUser;
    }

    function showWho() {
      const text = operatorToken ? "Acting with the operator token"
        : dcosUser ? "Acting as " + dcosUser + " (DC/OS login)" : "";
      who.textContent = text;
      who.hidden = !text;
      tokenField.hidden = !askForToken();
      tokenInput.required = askForToken();
    }

    function open(action, agentId, host) {
      pending = { action: action, agentId: agentId };
      setText("action-title", action.charAt(0).toUpperCase() + action.slice(1) +
        (agentId ? " agent" : " the rollout"));
      setText("action-target", agentId ? (host || "") + " (" + agentId + ")" : "");
      setText("action-error", "");
      tokenInput.value = "";
      reasonInput.value = "";
      showWho();
      dialog.showModal();
      (tokenField.hidden ? reasonInput : tokenInput).focus();
    }

    async function send() {
      const token = operatorToken || tokenInput.value.trim();
      const path = pending.agentId
        ? "v1/agents/" + encodeURIComponent(pending.agentId) + "/" + pending.action
        : "v1/rollout/" + pending.action;
      const headers = { "Content-Type": "application/json" };
      // Not "Authorization": behind Admin Router that header carries the DC/OS login.
      if (token) headers["X-Operator-Token"] = token;
      const response = await fetch(ROOT + path, {
        method: "POST",
        headers: headers,
        body: JSON.stringify({ reason: reasonInput.value }),
      });
      const refused = response.status === 401 || response.status === 403;
      if (token && !refused) operatorToken = token; // right token, even if the action was refused
      if (response.ok) {
        dialog.close();
        await refreshNow();
        return;
      }
      let message = "HTTP " + response.status;
      try { message = (await response.json()).error || message; } catch (err) { /* not JSON */ }
      if (refused) {
        operatorToken = "";
        await learnWho();
        showWho();
      }
      setText("action-error", message);
    }

    document.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (button) open(button.dataset.action, button.dataset.agent || null, button.dataset.host || null);
    });
    byId("action-cancel").addEventListener("click", () => dialog.close());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!reasonInput.value.trim()) { setText("action-error", "Give a reason for the event log."); return; }
      send().catch(() => setText("action-error", "Could not reach the scheduler."));
    });
    // The dialog may already be open when the answer comes (a quick click, a slow check).
    learnWho().then(() => { if (dialog.open) showWho(); });
  }

  const refreshNow = body.dataset.page === "status" ? statusPage()
    : body.dataset.page === "agent" ? agentPage() : null;
  if (refreshNow && ACTIONS_ON) actions(refreshNow);
})();
