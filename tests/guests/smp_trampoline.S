/* AP start-up code. The BSP copies smp_trampoline_start..smp_trampoline_end to
 * SMP_TRAMPOLINE_BASE and patches smp_trampoline_cr3; a SIPI then starts the AP there in real
 * mode (CS = SMP_SIPI_VECTOR << 8, IP = 0). It goes 16 -> 32 -> 64 bit on the BSP's page
 * tables, takes the stack its APIC id selects and calls smp_ap_main(apic_id). */
#include "runtime/x86.h"
#include "smp.h"

/* Where a label of the blob ends up once copied. */
#define RELOCATED(label) (SMP_TRAMPOLINE_BASE + (label) - smp_trampoline_start)

	.section .rodata
	.p2align 4
	.globl smp_trampoline_start, smp_trampoline_end, smp_trampoline_cr3
	.code16
smp_trampoline_start:
	jmp trampoline16
	.p2align 3
trampoline_gdtr:
	.word GDT_LIMIT
	.long guest_gdt                 /* 32-bit base: lgdtl below */
	.p2align 2
smp_trampoline_cr3:
	.long 0

trampoline16:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl trampoline_gdtr - smp_trampoline_start
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $GDT_CODE32, $RELOCATED(trampoline32)

	.code32
trampoline32:
	movl $GDT_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl RELOCATED(smp_trampoline_cr3), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	ljmp $GDT_CODE64, $RELOCATED(trampoline64)

	.code64
trampoline64:
	movl $GDT_DATA, %eax
	movl %eax, %fs
	movl %eax, %gs
	movl $(LAPIC_BASE + LAPIC_ID), %edx
	movl (%rdx), %edi
	shrl $24, %edi                  /* xAPIC id: bits 31:24 */
	cmpl $SMP_MAX_APIC_ID, %edi
	jae 2f
	leal 1(%edi), %eax
	imull $SMP_AP_STACK_SIZE, %eax
	movl $smp_ap_stacks, %esp
	addl %eax, %esp                 /* top of this AP's stack (all below 4 GiB) */
	xorl %ebp, %ebp
	movabsq $smp_ap_main, %rax
	call *%rax
2:	cli
	hlt
	jmp 2b
smp_trampoline_end:

	.section .note.GNU-stack, "", @progbits
