//go:build race

package sstable

const flipStride = 7
