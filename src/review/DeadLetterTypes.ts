/** Every dead-letter type the review service writes: the kernel's, and the two of its join and lifecycle. */
import { KernelDeadLetterTypes } from "../kernel/source/DeadLetter.ts"

export const ReviewDeadLetterTypes = [...KernelDeadLetterTypes, "join_unmatched", "late_record"] as const
