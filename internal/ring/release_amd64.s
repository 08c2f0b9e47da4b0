//go:build amd64 && !race && !ring_seqcst

#include "textflag.h"

// func movl(p *uint32, v uint32)
// A plain MOV: a release store under x86-TSO (see release_amd64.go).
TEXT ·movl(SB), NOSPLIT|NOFRAME, $0-12
	MOVQ	p+0(FP), AX
	MOVL	v+8(FP), BX
	MOVL	BX, (AX)
	RET

// func movq(p *uint64, v uint64)
TEXT ·movq(SB), NOSPLIT|NOFRAME, $0-16
	MOVQ	p+0(FP), AX
	MOVQ	v+8(FP), BX
	MOVQ	BX, (AX)
	RET

// func movlAt(base *byte, off int, v uint32)
TEXT ·movlAt(SB), NOSPLIT|NOFRAME, $0-20
	MOVQ	base+0(FP), AX
	MOVQ	off+8(FP), CX
	MOVL	v+16(FP), BX
	MOVL	BX, (AX)(CX*1)
	RET
