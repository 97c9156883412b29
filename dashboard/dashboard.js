/*
 * dashboard.js: polls the scheduler's JSON routes and draws the panels by
 * hand (canvas and plain HTML), with no library and nothing fetched from
 * anywhere but the page's own origin.  Every URL is relative to the page
 * ("api/v1/..."), so the dashboard works at /, under a path prefix and
 * behind a proxy that strips one.
 *
 * The token comes once, in the fragment of the link `cluster start` and
 * `cluster status` print (#token=...): it is kept in sessionStorage,
 * dropped from the address bar, and sent only as an Authorization header,
 * never in a URL.
 */
(function () {
	"use strict";

	var POLL_MS = 1000;
	var WINDOW_S = 300;		/* the task stream shows the last minutes */
	var MAX_BARS = 20000;
	var KEY = "cluster-token";

	var pages = {
		"status": null,
		"individual-task-stream": "stream",
		"individual-progress": "progress",
		"individual-workers-memory": "memory",
		"individual-aggregate-time-per-action": "actions",
		"workers": "workers",
		"pool": "pool"
	};

	function $(id) { return document.getElementById(id); }

	function esc(s) {
		return String(s).replace(/[&<>"']/g, function (c) {
			return { "&": "&amp;", "<": "&lt;", ">": "&gt;",
				 "\"": "&quot;", "'": "&#39;" }[c];
		});
	}

	/* The page's policy (style-src 'self') ignores style attributes in
	 * markup, so bar widths and colours travel as data-w (per cent) and
	 * data-bg and are set through the DOM, which the policy allows. */
	function setHtml(node, html) {
		node.innerHTML = html;
		Array.prototype.forEach.call(node.querySelectorAll("[data-w],[data-bg]"),
			function (e) {
				if (e.dataset.w) e.style.width = e.dataset.w + "%";
				if (e.dataset.bg) e.style.background = e.dataset.bg;
			});
	}

	function notice(html) {
		var n = $("notice");
		n.innerHTML = html;
		n.hidden = !html;
	}

	/* ---- the token ------------------------------------------------------ */

	function takeToken() {
		var m = /(?:^#|&)token=([0-9A-Za-z]+)/.exec(location.hash);
		if (m) {
			try { sessionStorage.setItem(KEY, m[1]); } catch (e) { }
			/* Out of the address bar, the history and any later link. */
			history.replaceState(null, "", location.pathname + location.search);
			return m[1];
		}
		try { return sessionStorage.getItem(KEY); } catch (e) { return null; }
	}

	var token = takeToken();

	function noToken(why) {
		notice("<b>" + esc(why) + "</b><br>This dashboard needs the cluster's " +
		       "token. Open the link that <code>cluster status</code> (or " +
		       "<code>cluster start</code>) prints: it ends in " +
		       "<code>#token=...</code>. The token stays in this tab only.");
	}

	/* ---- the page --------------------------------------------------------- */

	var page = location.pathname.replace(/\/+$/, "").split("/").pop() || "status";
	var only = pages.hasOwnProperty(page) ? pages[page] : null;

	Array.prototype.forEach.call(document.querySelectorAll(".panel"), function (p) {
		if (only && p.getAttribute("data-panel") !== only)
			p.hidden = true;
	});
	if (only)
		document.body.className = "solo";
	Array.prototype.forEach.call(document.querySelectorAll("nav a"), function (a) {
		if (a.getAttribute("href") === page)
			a.className = "here";
	});

	function shown(panel) { return !only || only === panel; }

	/* ---- polling ---------------------------------------------------------- */

	function get(path) {
		return fetch(path, {
			headers: { "Authorization": "Bearer " + token },
			cache: "no-store", credentials: "omit"
		}).then(function (r) {
			if (r.status === 401)
				throw { auth: true };
			return r.json().then(function (j) { return { code: r.status, body: j }; });
		});
	}

	function colour(name) {
		var h = 0;
		for (var i = 0; i < name.length; i++)
			h = (h * 31 + name.charCodeAt(i)) >>> 0;
		return "hsl(" + (h % 360) + ",60%,55%)";
	}

	function secs(s) {
		if (s < 60) return s.toFixed(1) + " s";
		if (s < 3600) return (s / 60).toFixed(1) + " min";
		return (s / 3600).toFixed(1) + " h";
	}

	function bytes(b) {
		var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
		while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
		return (i ? b.toFixed(1) : b) + " " + u[i];
	}

	/* ---- task stream ------------------------------------------------------ */

	var cursor = 0, skew = 0;
	var open = {};			/* task id -> start event */
	var bars = [];			/* {row, start, end, name, state} */
	var rows = {};			/* "worker/slot" -> row number */
	var nrows = 0;

	function rowOf(e) {
		var k = e.worker + "/" + e.slot;
		if (!rows.hasOwnProperty(k))
			rows[k] = nrows++;
		return rows[k];
	}

	function takeStream(j) {
		if (j.reset) { open = {}; bars = []; rows = {}; nrows = 0; }
		skew = Date.now() / 1000 - j.now;
		j.events.forEach(function (e) {
			if (e.kind === "start") {
				open[e.task] = e;
			} else {
				delete open[e.task];
				bars.push({ row: rowOf(e), start: e.start, end: e.time,
					    name: e.name, state: e.state });
			}
		});
		cursor = j.cursor;
		if (bars.length > MAX_BARS)
			bars.splice(0, bars.length - MAX_BARS);
	}

	function drawStream() {
		var c = $("stream-canvas"), g = c.getContext("2d");
		var now = Date.now() / 1000 - skew, t0 = now - WINDOW_S;
		var names = {};
		var h = Math.max(1, nrows), rh = Math.max(2, Math.min(20, (c.height - 20) / h));
		var x = function (t) { return (t - t0) / WINDOW_S * c.width; };

		g.clearRect(0, 0, c.width, c.height);
		g.fillStyle = "#888";
		g.font = "11px sans-serif";
		for (var m = 0; m <= WINDOW_S; m += 60)
			g.fillText("-" + (WINDOW_S - m) / 60 + " min", x(t0 + m) + 2, c.height - 4);
		bars = bars.filter(function (b) { return b.end >= t0; });
		function bar(b, end) {
			var x0 = Math.max(0, x(b.start)), x1 = Math.max(x0 + 1, x(end));
			g.fillStyle = colour(b.name);
			g.fillRect(x0, b.row * rh, x1 - x0, rh - 1);
			if (b.state && b.state !== "done") {
				g.strokeStyle = "#b71c1c";
				g.lineWidth = 2;
				g.strokeRect(x0 + 1, b.row * rh + 1, x1 - x0 - 2, rh - 3);
			}
			names[b.name] = 1;
		}
		bars.forEach(function (b) { bar(b, b.end); });
		Object.keys(open).forEach(function (id) {
			var e = open[id];
			bar({ row: rowOf(e), start: e.time, name: e.name }, now);
		});
		setHtml($("stream-legend"), Object.keys(names).sort().map(function (n) {
			return "<span><i data-bg=\"" + colour(n) + "\"></i>" +
				esc(n) + "</span>";
		}).join("") + "<span class=\"small\">outlined red: failed, " +
			"cancelled or requeued</span>");
	}

	/* ---- progress, actions, memory ---------------------------------------- */

	var STATES = ["waiting", "queued", "running", "done", "failed", "cancelled"];

	function drawProgress(j) {
		var rowsHtml = j.names.map(function (n) {
			var total = 0;
			STATES.forEach(function (s) { total += n[s]; });
			var segs = STATES.map(function (s) {
				return n[s] ? "<span class=\"s-" + s + "\" data-w=\"" +
					(100 * n[s] / total) + "\" title=\"" + s + " " + n[s] +
					"\"></span>" : "";
			}).join("");
			return "<tr><td>" + esc(n.name) + "</td><td data-w=\"40\">" +
				"<div class=\"bar\">" + segs + "</div></td>" +
				STATES.map(function (s) {
					return "<td class=\"n\" data-state=\"" + s + "\">" + n[s] + "</td>";
				}).join("") + "</tr>";
		}).join("");
		setHtml($("progress"), "<table><tr><th>name</th><th></th>" +
			STATES.map(function (s) { return "<th class=\"n\">" + s + "</th>"; }).join("") +
			"</tr>" + (rowsHtml || "<tr><td colspan=\"8\">no tasks yet</td></tr>") +
			"</table>");
		var t = j.total;
		$("summary").textContent = "tasks: " + STATES.map(function (s) {
			return t[s] + " " + s;
		}).join(", ");
	}

	/* A task's life in order: the scheduler's part, the worker's, the
	 * command's; a key this page does not know goes last. */
	var ACTIONS = ["queue_wait", "dispatch", "spawn", "run", "output"];

	/* Spawn and output are milliseconds a task: say so below a second. */
	function actionSecs(s) {
		if (s > 0 && s < 0.9995) return (s * 1000).toPrecision(3) + " ms";
		return s < 60 ? s.toFixed(s ? 2 : 0) + " s" : secs(s);
	}

	function drawActions(j) {
		var a = j.actions, max = 0, total = 0;
		var keys = ACTIONS.filter(function (k) { return k in a; }).concat(
			Object.keys(a).filter(function (k) { return ACTIONS.indexOf(k) < 0; }));
		keys.forEach(function (k) {
			max = Math.max(max, a[k].seconds);
			total += a[k].seconds;
		});
		setHtml($("actions"), "<table>" + keys.map(function (k) {
			var w = max ? 100 * a[k].seconds / max : 0;
			return "<tr data-action=\"" + esc(k) + "\"><td>" + esc(k.replace("_", " ")) +
				"</td><td data-w=\"50\">" +
				"<div class=\"bar\"><span data-w=\"" + w +
				"\" data-bg=\"" + colour(k) + "\"></span></div></td>" +
				"<td class=\"n\" data-field=\"seconds\">" + actionSecs(a[k].seconds) +
				"</td><td class=\"n\">" +
				(total ? (100 * a[k].seconds / total).toFixed(1) : "0.0") + " %</td>" +
				"<td class=\"n\">" + a[k].runs + " runs</td></tr>";
		}).join("") + "</table>");
	}

	function drawMemory(j) {
		var c = $("memory-canvas"), g = c.getContext("2d");
		g.clearRect(0, 0, c.width, c.height);
		var items, label;
		if (j.workers.length || !j.count) {
			items = j.workers.map(function (w) {
				return { v: w.memory ? w.memory_used / w.memory : 0, name: w.name };
			});
			label = j.count + " workers";
		} else {
			/* Many workers: how many are at each tenth of their memory. */
			var most = Math.max.apply(null, j.histogram) || 1;
			items = j.histogram.map(function (n, i) {
				return { v: n / most, name: (i * 10) + "-" + (i * 10 + 10) + "%: " + n,
					 hist: true };
			});
			label = j.count + " workers, by share of memory in use";
		}
		var bw = items.length ? c.width / items.length : c.width;
		items.forEach(function (it, i) {
			var hh = (c.height - 20) * Math.min(1, it.v);
			g.fillStyle = it.hist ? "#42a5f5" : it.v > 0.9 ? "#e53935" :
				it.v > 0.7 ? "#ffb300" : "#66bb6a";
			g.fillRect(i * bw + 2, c.height - 20 - hh, Math.max(1, bw - 4), hh);
			g.fillStyle = "#444";
			g.font = "11px sans-serif";
			g.fillText(it.name.slice(0, Math.max(4, bw / 6)), i * bw + 2, c.height - 6);
		});
		$("memory-text").textContent = label + ": " + bytes(j.memory_used) +
			" of " + bytes(j.memory) + " reserved by tasks";
	}

	/* ---- workers and pool ---------------------------------------------------- */

	function drawWorkers(j) {
		var alive = j.workers.filter(function (w) { return w.alive; });
		function job(w) {
			if (w.job == null)
				return "";
			return esc(w.job) + (w.job_index >= 0 ? "[" + w.job_index + "]" : "");
		}
		function left(w) {
			return w.walltime_left != null ? secs(w.walltime_left) : "";
		}
		$("workers").innerHTML = "<tr><th>name</th><th>host</th><th>job</th>" +
			"<th class=\"n\">cores</th><th class=\"n\">memory</th>" +
			"<th class=\"n\">running</th><th class=\"n\">done</th>" +
			"<th class=\"n\">walltime left</th><th></th></tr>" +
			alive.slice(0, 500).map(function (w) {
				return "<tr data-worker=\"" + w.id + "\"><td>" + esc(w.name) +
					"</td><td data-field=\"host\">" + esc(w.host || "") +
					"</td><td data-field=\"job\">" + job(w) +
					"</td><td class=\"n\" data-field=\"cores\">" +
					w.cores_used + "/" + w.cores + "</td><td class=\"n\">" +
					bytes(w.memory_used) + " / " + bytes(w.memory) +
					"</td><td class=\"n\" data-field=\"running\">" + w.running +
					"</td><td class=\"n\" data-field=\"done\">" + w.done +
					"</td><td class=\"n\" data-field=\"left\">" + left(w) +
					"</td><td data-field=\"draining\">" +
					(w.draining ? "<span class=\"warn\">draining</span>" : "") +
					"</td></tr>";
			}).join("") + (alive.length > 500 ? "<tr><td colspan=\"9\">and " +
				(alive.length - 500) + " more</td></tr>" : "");
	}

	function drawPool(r) {
		if (r.code !== 200) {
			$("pool-summary").textContent = r.body.error || "no pool";
			$("pool-jobs").innerHTML = "";
			return;
		}
		var p = r.body, jn = p.scheduler && p.scheduler.journal;
		$("pool-summary").innerHTML = esc(p.backend) + ": target " + p.target +
			" workers (" + p.target_jobs + " jobs), actual " + p.actual + " (" +
			p.actual_jobs + " jobs)" + (p.paused ? "; <span class=\"warn\">paused: " +
			esc(p.paused) + "</span>" : "") + (p.waiting ? "; waiting: " +
			esc(p.waiting) : "") + (p.last_error ? "; last submit error: " +
			esc(p.last_error) : "") + (p.poll_error ? "; <span class=\"warn\">" +
			"last poll failed: " + esc(p.poll_error) + "</span>" : "") +
			(jn && jn.error ? "; <span class=\"warn\">journal failing: " +
			esc(jn.error) + "</span>" : "");
		function at(t) {
			return t != null ? new Date(t * 1000).toLocaleTimeString() : "";
		}
		$("pool-jobs").innerHTML = "<tr><th>job</th><th>state</th><th>reason</th>" +
			"<th class=\"n\">workers</th><th>submitted</th><th>started</th>" +
			"<th class=\"n\">walltime left</th></tr>" +
			(p.jobs || []).map(function (jb) {
				return "<tr><td>" + esc(jb.id) + (jb.index >= 0 ? "[" + jb.index + "]" : "") +
					"</td><td>" + esc(jb.state) + (jb.draining ? " (draining)" : "") +
					"</td><td>" + esc(jb.reason || "") + "</td><td class=\"n\">" +
					jb.joined + "/" + jb.expected + "</td><td>" + at(jb.submitted) +
					"</td><td>" + at(jb.started) + "</td><td class=\"n\">" +
					(jb.walltime_left != null ? secs(jb.walltime_left) : "") + "</td></tr>";
			}).join("");
	}

	/* ---- the loop ------------------------------------------------------------ */

	var busy = false;

	function poll() {
		if (busy)
			return;
		busy = true;
		var jobs = [];
		if (shown("stream"))
			jobs.push(get("api/v1/stream?since=" + cursor).then(function (r) {
				takeStream(r.body);
				drawStream();
			}));
		jobs.push(get("api/v1/progress").then(function (r) { drawProgress(r.body); }));
		if (shown("actions"))
			jobs.push(get("api/v1/actions").then(function (r) { drawActions(r.body); }));
		if (shown("memory"))
			jobs.push(get("api/v1/memory").then(function (r) { drawMemory(r.body); }));
		if (shown("workers"))
			jobs.push(get("api/v1/workers").then(function (r) { drawWorkers(r.body); }));
		if (shown("pool"))
			jobs.push(get("api/v1/pool").then(drawPool));
		Promise.all(jobs).then(function () {
			notice("");
		}, function (e) {
			if (e && e.auth) {
				try { sessionStorage.removeItem(KEY); } catch (x) { }
				token = null;
				noToken("The scheduler refused this token (it restarted, or the " +
					"link is another cluster's).");
			} else {
				notice("Cannot reach the scheduler: " + esc(e && e.message || e) +
				       ". Retrying.");
			}
		}).then(function () { busy = false; });
	}

	if (!token) {
		noToken("No token.");
		return;
	}
	poll();
	setInterval(function () { if (token) poll(); }, POLL_MS);
})();
