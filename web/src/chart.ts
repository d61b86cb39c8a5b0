// Live time-series charts on uPlot: a fixed set of named lines fed one point per update.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

// Canvas needs real colours: read the theme's custom properties.
const css = (v: string) => getComputedStyle(document.documentElement).getPropertyValue(v).trim() || '#888';

const PALETTE = ['#4e9af1', '#f1a34e', '#5cc47a', '#e05d6f', '#a77be0', '#46c3c9', '#d6c84a', '#9aa3ad'];

export class LiveChart {
  private plot: uPlot | null = null;
  private names: string[] = [];
  private data: number[][] = [[]];
  private observer: ResizeObserver;

  constructor(private root: HTMLElement, private unit: (v: number) => string, private points = 180) {
    this.observer = new ResizeObserver(() => this.plot?.setSize(this.size()));
    this.observer.observe(root);
  }

  private size() {
    return { width: Math.max(200, this.root.clientWidth - 8), height: 160 };
  }

  // Appends the values at `t` (ms) for the named lines; a new name adds a line.
  push(t: number, values: Record<string, number>, render: boolean) {
    const names = Object.keys(values).sort();
    if (names.join('\u0000') !== this.names.join('\u0000')) {
      const old = new Map(this.names.map((n, i) => [n, this.data[i + 1]]));
      this.names = names;
      this.data = [this.data[0], ...names.map((n) => old.get(n) ?? this.data[0].map(() => null as unknown as number))];
      this.plot?.destroy();
      this.plot = null;
    }
    this.data[0].push(t / 1000);
    // uPlot draws gaps for null; NaN would poison its scale ranges.
    names.forEach((n, i) => this.data[i + 1].push(isFinite(values[n]) ? values[n] : (null as unknown as number)));
    if (this.data[0].length > this.points) this.data.forEach((a) => a.shift());
    if (!render) return;
    if (!this.plot) {
      const unit = this.unit;
      this.plot = new uPlot(
        {
          ...this.size(),
          legend: { live: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true } },
          axes: [
            { stroke: css('--muted'), grid: { stroke: css('--grid') }, ticks: { stroke: css('--grid') } },
            {
              stroke: css('--muted'),
              grid: { stroke: css('--grid') },
              ticks: { stroke: css('--grid') },
              size: 60,
              values: (_u, vals) => vals.map((v) => unit(v)),
            },
          ],
          series: [{}, ...this.names.map((n, i) => ({ label: n, stroke: PALETTE[i % PALETTE.length], width: 1.5, points: { show: false } }))],
        },
        this.data as uPlot.AlignedData,
        this.root,
      );
    } else {
      this.plot.setData(this.data as uPlot.AlignedData);
    }
  }

  destroy() {
    this.observer.disconnect();
    this.plot?.destroy();
  }
}
