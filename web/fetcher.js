// A worker (a module) that makes the page's requests on the drawing path off the main thread. On
// a software-rendered map every frame holds the main thread for 200–400 ms, and a response read
// there waits for a free moment at each of its steps (headers, body, parsing); a split and its
// validation crossed such frames four times before the verdict. Here the requests run in this
// thread and the page gets one message with the parsed answers.
//   {id, url, body, headers}: one POST → {id, ok, status, json}
//   {id, split: {url, body}, validate: url, state, headers}: the split, then the validation of
//     the proposal the editor builds from it (parts.js) → {id, ok, split, report} (a refused
//     validation: ok false, with the split; a refused split: {id, ok: false, status, json, url})
//   {abort: id}: cancels request id (answered {id, aborted: true})
import { mergeParts, proposalJson } from '/web/parts.js';

const running = new Map();

async function post(url, body, headers, signal) {
  const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
  const text = await r.text();
  let json = null;
  if (text && (r.headers.get('content-type') ?? '').includes('json')) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  return { ok: r.ok, status: r.status, json, url };
}

self.onmessage = async ({ data }) => {
  if (data.abort != null) {
    running.get(data.abort)?.abort();
    return;
  }
  const { id, headers } = data;
  const controller = new AbortController();
  running.set(id, controller);
  try {
    if (!data.split) {
      self.postMessage({ id, ...await post(data.url, data.body, headers, controller.signal) });
      return;
    }
    const split = await post(data.split.url, data.split.body, headers, controller.signal);
    if (!split.ok) {
      self.postMessage({ id, ...split });
      return;
    }
    const state = { ...data.state, title: data.state.title || split.json.proposal?.title };
    state.parts = mergeParts(split.json.features, data.state.parts);
    const report = await post(data.validate, proposalJson(state), headers, controller.signal);
    self.postMessage({ id, ...report, split: split.json, report: report.json });
  } catch (err) {
    self.postMessage({ id, aborted: err.name === 'AbortError', error: String(err.message ?? err) });
  } finally {
    running.delete(id);
  }
};
