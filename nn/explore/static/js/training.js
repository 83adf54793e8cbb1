// Training, live: the server trains in a background thread; this shows the cost of every mini-batch,
// the test accuracy after every epoch trained here (from epoch 0: the network as it started here),
// and the video's table for the last mini-batch: what each example wants of a few weights, and
// their average.

import { count, fmt, signed } from "./format.js";

const FONT = "18px system-ui, sans-serif"; // readable from the back of a room

export class TrainingView {
  constructor({ costChart, accuracyChart, status, settings, batch }) {
    Object.assign(this, { costChart, accuracyChart, status, settings, batch });
    this.costs = [];
  }

  // progress: the server's "training" object; costs holds the costs from `since` on. history: the
  // loaded model's own epochs before it came here ([{epoch, test_accuracy}]), or null.
  update(progress, since, history = null) {
    if (since === 0) this.costs = [];
    this.costs.push(...progress.costs);
    this.accuracy = progress.accuracy;
    this.history = history || [];
    this.status.textContent = progress.error ? `${progress.error[0].toUpperCase()}${progress.error.slice(1)}.` : progress.steps === 0 ? "No training here yet." :
      `${count(progress.steps, "step")} trained here: epoch ${progress.epoch}, batch ${progress.batch} of ` +
      `${progress.batches_per_epoch}${progress.running ? ", training" : ", paused"}.`;
    this.settings.textContent = progress.settings;
    this.drawCosts();
    this.drawAccuracy();
  }

  // Axes, with the top value and the x-axis words; yTop is a value of the data, never a fixed one.
  chart(canvas, yTop, yLabel, xLabel) {
    const c = canvas.getContext("2d");
    const { width, height } = canvas;
    c.clearRect(0, 0, width, height);
    c.strokeStyle = "#bbb";
    c.fillStyle = "#444";
    c.font = FONT;
    const box = { x0: 58, x1: width - 10, y0: height - 30, y1: 30 };
    c.beginPath();
    c.moveTo(box.x0, box.y1);
    c.lineTo(box.x0, box.y0);
    c.lineTo(box.x1, box.y0);
    c.stroke();
    c.textAlign = "right";
    c.fillText(fmt(yTop, 2), box.x0 - 6, box.y1 + 6);
    c.fillText("0", box.x0 - 6, box.y0 + 6);
    c.fillText(xLabel, box.x1, height - 6);
    c.textAlign = "left";
    c.fillText(yLabel, box.x0 + 6, 20);
    return { c, ...box };
  }

  // The cost of every step, averaged over the steps that share a pixel; the y-axis runs from 0 to
  // the largest value drawn, so that it follows the curve as training goes on.
  drawCosts() {
    const costs = this.costs;
    const width = this.costChart.width - 68;
    const perPixel = Math.max(1, Math.ceil(costs.length / width));
    const points = [];
    for (let i = 0; i < costs.length; i += perPixel) {
      const chunk = costs.slice(i, i + perPixel);
      points.push([i + chunk.length / 2, chunk.reduce((s, v) => s + v, 0) / chunk.length]);
    }
    this.costTop = points.length ? Math.max(...points.map((p) => p[1])) : 0;
    const top = this.costTop || 1;
    const xLabel = costs.length ? count(costs.length, "step") : "no steps yet";
    const { c, x0, x1, y0, y1 } = this.chart(this.costChart, this.costTop, "cost", xLabel);
    if (!points.length) return;
    c.strokeStyle = "#2563eb";
    c.lineWidth = 2;
    c.beginPath();
    points.forEach(([i, mean], p) => {
      const x = x0 + (i / costs.length) * (x1 - x0), y = y0 - (mean / top) * (y0 - y1);
      if (p === 0) c.moveTo(x, y); else c.lineTo(x, y);
    });
    c.stroke();
    c.lineWidth = 1;
  }

  // Test accuracy after each epoch: the loaded model's own epochs (grey), then those trained here
  // (green), from this network as it came here.
  drawAccuracy() {
    const before = this.history.map((h) => [h.epoch, h.test_accuracy]);
    const offset = before.length;
    const here = (this.accuracy || []).map(([epoch, accuracy]) => [offset + epoch, accuracy]);
    const epochs = Math.max(1, here[here.length - 1]?.[0] || 0, offset);
    const { c, x0, x1, y0, y1 } = this.chart(this.accuracyChart, 1, "share of test digits right", `epoch ${epochs}`);
    const at = ([epoch, accuracy]) => [x0 + (epoch / epochs) * (x1 - x0), y0 - accuracy * (y0 - y1)];
    const line = (points, colour) => {
      c.strokeStyle = c.fillStyle = colour;
      c.beginPath();
      points.forEach((point, i) => {
        const [x, y] = at(point);
        if (i === 0) c.moveTo(x, y); else c.lineTo(x, y);
      });
      c.stroke();
      for (const point of points) {
        const [x, y] = at(point);
        c.fillRect(x - 4, y - 4, 8, 8);
      }
    };
    line(before, "#9ca3af");
    line(here, "#15803d");
    const last = here[here.length - 1];
    if (last) {
      const [x, y] = at(last);
      const left = x > x1 - 80;
      c.textAlign = left ? "right" : "left";
      c.fillText(`${(100 * last[1]).toFixed(1)}%`, left ? x - 8 : x + 8, y + 24);
    }
  }

  // No table to show, and why: a table rebuilt for weights that have moved on would be nobody's numbers.
  noBatch(why) {
    this.batch.replaceChildren(Object.assign(document.createElement("p"), { className: "hint", textContent: why }));
  }

  // The server's /api/batch answer: rows = chosen weights, columns = the examples of the batch.
  showBatch(batch, columns = 4) {
    const head = batch.labels.slice(0, columns).map((label, e) => `<th>ex. ${e + 1}: "${label}"</th>`).join("");
    const rows = batch.weights.map((name, i) => `<tr><th title="${name}">${name.split(":")[0]}</th>
      ${batch.table[i].slice(0, columns).map((v) => `<td>${signed(v)}</td>`).join("")}<td>…</td>
      <td><b>${signed(batch.average[i])}</b></td><td>${signed(batch.step[i])}</td></tr>`).join("");
    const ok = batch.max_difference < 1e-9;
    this.batch.innerHTML = `<table><tr><th>nudge to</th>${head}<th>… ${batch.labels.length - columns} more</th>
      <th>average</th><th>step</th></tr>${rows}</table>
      <p class="hint">step: the nudge (&minus;gradient) the training step used, from backward() on the whole batch.</p>
      <p class="check ${ok ? "ok" : "bad"}">the average over the ${batch.labels.length} examples equals the
      mini-batch gradient the step used: largest difference <span class="number">${fmt(batch.max_difference, 2)}</span></p>`;
  }
}
