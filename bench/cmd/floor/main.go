// Command floor is the floor under one-shot commands: a Go process that
// starts and exits, and with "sync FILE", also appends one 113-byte record
// to FILE and fdatasyncs it.
package main

import "github.com/kvtool/kv/bench/internal/floor"

func main() { floor.Main() }
