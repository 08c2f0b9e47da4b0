#include "textflag.h"

// func syscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r, errno uintptr)
//
// The kernel's x86-64 convention: number in AX, arguments in DI, SI, DX,
// R10, R8, R9; SYSCALL clobbers CX and R11; a result in [-4095, -1] is
// -errno.
TEXT ·syscall6(SB),NOSPLIT,$0-72
	MOVQ	a1+8(FP), DI
	MOVQ	a2+16(FP), SI
	MOVQ	a3+24(FP), DX
	MOVQ	a4+32(FP), R10
	MOVQ	a5+40(FP), R8
	MOVQ	a6+48(FP), R9
	MOVQ	trap+0(FP), AX
	SYSCALL
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, r+56(FP)
	NEGQ	AX
	MOVQ	AX, errno+64(FP)
	RET
ok:
	MOVQ	AX, r+56(FP)
	MOVQ	$0, errno+64(FP)
	RET
