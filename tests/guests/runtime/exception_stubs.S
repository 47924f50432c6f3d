/* Entry stubs for exception vectors 0..31: give every frame the same shape (a zero error
 * code where the CPU pushes none, then the vector), save the caller-saved registers and call
 * the C dispatcher. Returning from it resumes the interrupted code with iretq. */

	.section .text
	.code64

	.macro exception_stub vector, cpu_pushes_error_code
	.p2align 4
exception_stub_\vector:
	.if \cpu_pushes_error_code == 0
	pushq $0
	.endif
	pushq $\vector
	jmp exception_common
	.endm

	/* #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX push an error code; the rest do not. */
	.irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
	exception_stub \v, 0
	.endr
	.irp v, 8,10,11,12,13,14,17,21,29,30
	exception_stub \v, 1
	.endr

exception_common:
	/* Entry left rsp 16-byte aligned minus 8 after the CPU frame + error code + vector;
	 * nine pushes make it aligned for the call. */
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	movq %rsp, %rdi
	cld
	call exception_dispatch
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	addq $16, %rsp                  /* vector and error code */
	iretq

	.section .rodata
	.p2align 3
	.globl exception_stub_table
exception_stub_table:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad exception_stub_\v
	.endr

	.section .note.GNU-stack, "", @progbits
