//go:build unix

package vfs

const unixLike = true
