package kv

import "fmt"

// Problem is one defect in a store's files: damage that a crash cannot
// explain, where it is and what is wrong (Offset -1 when it concerns the
// whole file). Repair reports what it dropped as Problems, and so does
// pkg/inspect's Verify what it found.
type Problem struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Reason string `json:"reason"`
	// Bytes is how many bytes of records or entries the problem made
	// unreadable, where that is known (Repair's Lost); 0 otherwise.
	Bytes int64 `json:"bytes,omitempty"`
}

func (p Problem) String() string {
	if p.Offset < 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Reason)
	}
	return fmt.Sprintf("%s at offset %d: %s", p.File, p.Offset, p.Reason)
}
