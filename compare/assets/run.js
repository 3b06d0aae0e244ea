// The Run buttons of a behaviour page: the site's own server (compare/live.py, which `make run`
// starts) plays the case on both apps with the suite's client; both answers appear under it.
"use strict";

const MARKS = { same: "", differs: "≠", varies: "~" };

function element(tag, text, className) {
  const made = document.createElement(tag);
  if (text !== undefined) made.textContent = text; // answers are the servers' bytes: never HTML
  if (className) made.className = className;
  return made;
}

function answersTable(result) {
  const table = element("table", undefined, "answers");
  const head = table.createTHead().insertRow();
  head.append(element("th"), element("th"));
  for (const answer of result.answers) {
    const th = element("th", answer.target);
    th.append(element("small", answer.url));
    head.append(th);
  }
  const body = table.createTBody();
  for (const row of result.rows) {
    const tr = body.insertRow();
    tr.className = row.kind;
    tr.append(element("th", row.label), element("td", `${MARKS[row.kind]} ${row.field}`.trim()));
    for (const value of row.values) tr.appendChild(element("td")).append(element("code", value));
  }
  const verdicts = body.insertRow();
  verdicts.append(element("th", "spec"), element("td"));
  for (const answer of result.answers) {
    const kind = { passed: "pass", xfailed: "xfail", xpassed: "fail", failed: "fail" };
    verdicts.append(element("td", answer.verdict, `status ${kind[answer.outcome]}`));
  }
  return table;
}

function notes(result) {
  const list = element("ul", undefined, "answer-notes");
  for (const answer of result.answers) {
    if (answer.message) list.append(element("li", `${answer.target}: ${answer.message}`));
    if (answer.reason) {
      list.append(element("li", `${answer.target}: a declared difference: ${answer.reason}`));
    }
  }
  return list;
}

async function run(button, table) {
  const number = Number(button.dataset.case);
  const first = document.getElementById(`case-${number}`);
  const last = first.parentElement.rows[first.sectionRowIndex + first.cells[0].rowSpan - 1];
  let row = last.nextElementSibling;
  if (!row || !row.classList.contains("ran")) {
    row = element("tr", undefined, "ran");
    row.appendChild(element("td")).colSpan = first.closest("table").rows[0].cells.length;
    last.after(row);
  }
  const cell = row.cells[0];
  cell.replaceChildren(element("p", "running…", "muted"));
  button.disabled = true;
  try {
    const response = await fetch("../api/try", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ behaviour: table.dataset.behaviour, case: number }),
    });
    const result = await response.json();
    if (!response.ok) throw new Error(result.error || response.statusText);
    cell.replaceChildren(answersTable(result), notes(result));
  } catch (error) {
    cell.replaceChildren(element("p", `Could not run it: ${error.message}`, "status fail"));
  } finally {
    button.disabled = false;
  }
}

async function start() {
  const table = document.querySelector("table.cases[data-behaviour]");
  const help = document.querySelector(".run-help");
  if (!table || !help) return;
  let targets;
  try {
    const response = await fetch("../api/targets");
    if (!response.ok) throw new Error(response.statusText);
    targets = (await response.json()).targets;
  } catch {
    return; // a copy of the site with no server behind it: the help says what to start
  }
  const where = targets.map((target) => `${target.name} at ${target.url}`).join(" and ");
  help.replaceChildren(
    `Run plays a case on ${where} with the suite's client, as `,
    element("code", "python -m compare try"),
    " does; both answers appear under it, side by side: ≠ where they differ, ~ where a value" +
      " is new on every request.",
  );
  for (const button of table.querySelectorAll("button.run")) {
    button.hidden = false;
    button.addEventListener("click", () => run(button, table));
  }
}

start();
