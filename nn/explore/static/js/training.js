// Training, live: the server trains in a background thread; this shows the cost of every mini-batch,
// the test accuracy after every epoch (from epoch 0, before any training), and the video's table for
// the last mini-batch: what each example wants of a few weights, and their average.

import { fmt, signed } from "./format.js";

export class TrainingView {
  constructor({ costChart, accuracyChart, status, settings, batch }) {
    Object.assign(this, { costChart, accuracyChart, status, settings, batch });
    this.costs = [];
  }

  // progress: the server's "training" object; costs holds the costs from `since` on.
  update(progress, since) {
    if (since === 0) this.costs = [];
    this.costs.push(...progress.costs);
    this.accuracy = progress.accuracy;
    const last = this.accuracy[this.accuracy.length - 1];
    this.status.textContent = `epoch ${progress.epoch}, batch ${progress.batch} / ${progress.batches_per_epoch}` +
      ` · ${progress.steps.toLocaleString()} steps · test accuracy ${(100 * last[1]).toFixed(1)}% after epoch ${last[0]}` +
      (progress.running ? " · training" : "");
    this.settings.textContent = progress.settings;
    this.drawCosts();
    this.drawAccuracy();
  }

  chart(canvas, yMax, yLabel) {
    const c = canvas.getContext("2d");
    const { width, height } = canvas;
    c.clearRect(0, 0, width, height);
    c.strokeStyle = "#bbb";
    c.fillStyle = "#555";
    c.font = "13px system-ui, sans-serif";
    c.beginPath();
    c.moveTo(40, 10);
    c.lineTo(40, height - 24);
    c.lineTo(width - 8, height - 24);
    c.stroke();
    c.fillText(fmt(yMax), 2, 16);
    c.fillText("0", 26, height - 24);
    c.fillText(yLabel, 46, 16);
    return { c, x0: 40, x1: width - 8, y0: height - 24, y1: 10 };
  }

  drawCosts() {
    const costs = this.costs;
    const top = Math.max(0.1, ...costs.slice(0, 50), ...costs.slice(-200));
    const { c, x0, x1, y0, y1 } = this.chart(this.costChart, top, "cost");
    c.fillText(`${costs.length.toLocaleString()} steps`, x1 - 90, y0 + 18);
    if (!costs.length) return;
    const perPixel = Math.max(1, Math.ceil(costs.length / (x1 - x0)));
    c.strokeStyle = "#2563eb";
    c.beginPath();
    for (let i = 0, p = 0; i < costs.length; i += perPixel, p++) {
      const chunk = costs.slice(i, i + perPixel);
      const mean = chunk.reduce((s, v) => s + v, 0) / chunk.length;
      const x = x0 + ((i + chunk.length / 2) / Math.max(costs.length, 1)) * (x1 - x0);
      const y = y0 - (Math.min(mean, top) / top) * (y0 - y1);
      if (p === 0) c.moveTo(x, y); else c.lineTo(x, y);
    }
    c.stroke();
  }

  drawAccuracy() {
    const points = this.accuracy || [];
    const { c, x0, x1, y0, y1 } = this.chart(this.accuracyChart, 1, "share of test digits right");
    const epochs = Math.max(5, points[points.length - 1]?.[0] || 0);
    c.fillText(`epoch ${epochs}`, x1 - 60, y0 + 18);
    c.strokeStyle = c.fillStyle = "#15803d";
    c.beginPath();
    points.forEach(([epoch, accuracy], i) => {
      const x = x0 + (epoch / epochs) * (x1 - x0), y = y0 - accuracy * (y0 - y1);
      if (i === 0) c.moveTo(x, y); else c.lineTo(x, y);
    });
    c.stroke();
    for (const [epoch, accuracy] of points) {
      const x = x0 + (epoch / epochs) * (x1 - x0), y = y0 - accuracy * (y0 - y1);
      c.fillRect(x - 3, y - 3, 6, 6);
    }
    const last = points[points.length - 1];
    if (last) c.fillText(`${(100 * last[1]).toFixed(1)}%`, Math.min(x1 - 50, x0 + (last[0] / epochs) * (x1 - x0) + 6), y0 - last[1] * (y0 - y1) + 14);
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
      mini-batch gradient the step used: largest difference ${fmt(batch.max_difference, 2)}</p>`;
  }
}
