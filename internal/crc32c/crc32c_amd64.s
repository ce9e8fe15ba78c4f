//go:build amd64 && !purego

#include "textflag.h"

// func updateSSE42(crc uint32, p []byte) uint32
//
// One stream of the SSE4.2 CRC32 instruction, eight bytes at a time, then
// the tail a byte at a time. crc is the finished checksum of what came
// before (inverted in and out, as hash/crc32's Update).
TEXT ·updateSSE42(SB), NOSPLIT, $0-36
	MOVL crc+0(FP), AX
	NOTL AX
	MOVQ p_base+8(FP), SI
	MOVQ p_len+16(FP), CX

words:
	CMPQ CX, $8
	JB   bytes
	CRC32Q (SI), AX
	ADDQ $8, SI
	SUBQ $8, CX
	JMP  words

bytes:
	TESTQ CX, CX
	JZ    done
	CRC32B (SI), AX
	INCQ SI
	DECQ CX
	JMP  bytes

done:
	NOTL AX
	MOVL AX, ret+32(FP)
	RET

// func cpuHasSSE42() bool
//
// CPUID leaf 1: ECX bit 20 is SSE4.2.
TEXT ·cpuHasSSE42(SB), NOSPLIT, $0-1
	MOVL $1, AX
	XORL CX, CX
	CPUID
	SHRL $20, CX
	ANDL $1, CX
	MOVB CX, ret+0(FP)
	RET
