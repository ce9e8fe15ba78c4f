package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// charts draws the main figures as SVG: one-shot get time against store
// size (a line per engine), and load throughput and space per engine.
func charts(r *results, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := getChart(r, filepath.Join(dir, "get.svg")); err != nil {
		return err
	}
	if err := barChart(r, "load", "Bulk load, "+human(atoi(r.meta["big"]))+" records", "records/s (median)", filepath.Join(dir, "load.svg")); err != nil {
		return err
	}
	return barChart(r, "space", "Space after compaction, "+human(atoi(r.meta["big"]))+" records", "bytes on disk / raw bytes", filepath.Join(dir, "space.svg"))
}

func getChart(r *results, path string) error {
	p := plot.New()
	p.Title.Text = "One-shot get (whole process)"
	p.X.Label.Text = "keys in store"
	p.Y.Label.Text = "ms (median)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = sizeTicks(sizes(r.meta))
	p.Y.Min = 0
	p.Y.Tick.Marker = plainTicks{}
	var lines []any
	for _, l := range []string{"kv", "kv-lib", "bbolt-cli", "bbolt", "badger", "pebble"} {
		var pts plotter.XYs
		for _, n := range sizes(r.meta) {
			if s := r.get("get/"+strconv.Itoa(n), l); s.present {
				pts = append(pts, plotter.XY{X: float64(n), Y: s.median})
			}
		}
		if len(pts) > 0 {
			lines = append(lines, plainName(l), pts)
		}
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return err
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return p.Save(16*vg.Centimeter, 11*vg.Centimeter, path)
}

func barChart(r *results, fig, title, ylabel, path string) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Tick.Marker = plainTicks{}
	var vals plotter.Values
	var names []string
	for _, l := range labels(r.raw[fig]) {
		vals = append(vals, r.get(fig, l).median)
		n := map[string]string{"kv": "kv (CLI)", "kv-lib": "kv", "bbolt": "bbolt"}[l]
		if n == "" {
			n = plainName(l)
		}
		names = append(names, n)
	}
	if len(vals) == 0 {
		return fmt.Errorf("no %s figures to draw", fig)
	}
	bars, err := plotter.NewBarChart(vals, vg.Centimeter)
	if err != nil {
		return err
	}
	bars.Color = plotutil.Color(0)
	p.Add(bars)
	p.NominalX(names...)
	return p.Save(14*vg.Centimeter, 9*vg.Centimeter, path)
}

// plainName is a label's name without Markdown.
func plainName(l string) string {
	return map[string]string{
		"kv": "kv (CLI)", "kv-lib": "bench-kv", "bbolt-cli": "bbolt (CLI)", "bbolt-cli-static": "bbolt (CLI, static)", "bbolt": "bench-bbolt",
		"badger": "badger", "pebble": "pebble",
	}[l]
}

// plainTicks are the default ticks labelled 0.4, 1.2, 500k rather than
// 0.40, 1.2000000000000002, 500000.00.
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label == "" {
			continue
		}
		v := ts[i].Value
		if math.Abs(v) >= 1000 {
			ts[i].Label = rate(v)
		} else {
			ts[i].Label = strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
		}
	}
	return ts
}

// sizeTicks labels the store sizes: 1k, 100k, 1M, 10M.
type sizeTicks []int

func (s sizeTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for _, n := range s {
		ts = append(ts, plot.Tick{Value: float64(n), Label: human(n)})
	}
	return ts
}
