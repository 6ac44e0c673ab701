/**
 * The changelog frame: one header written, and frames of either format read back; a
 * damaged frame reads as none (the record then belongs to no event) rather than as a
 * wrong event number or count.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { FRAME_HEADER, frameHeaders, LEGACY_EVENT_HEADER, LEGACY_RECORDS_HEADER, LEGACY_VALUES_HEADER, readFrame } from "../../src/kernel/runtime/ChangelogFrame.ts"

describe("the changelog frame", () => {
  it("is one header that reads back as the event, its records and its values", () => {
    fc.assert(fc.property(fc.nat(), fc.nat(), fc.nat(), (event, records, values) => {
      const headers = frameHeaders(event, records, values)
      expect(Object.keys(headers)).toEqual([FRAME_HEADER])
      expect(readFrame({ ...headers, traceparent: "00-x" })).toEqual({ event, records, values })
    }))
  })

  it("reads the earlier three-header and two-header frames", () => {
    expect(readFrame({ [LEGACY_EVENT_HEADER]: "7", [LEGACY_RECORDS_HEADER]: "5", [LEGACY_VALUES_HEADER]: "3" })).toEqual({ event: 7, records: 5, values: 3 })
    expect(readFrame({ [LEGACY_EVENT_HEADER]: "7", [LEGACY_RECORDS_HEADER]: "5" })).toEqual({ event: 7, records: 5, values: undefined })
    expect(readFrame({ [LEGACY_EVENT_HEADER]: "7" })).toEqual({ event: 7, records: undefined, values: undefined })
  })

  it("reads no frame where there is none or it is damaged", () => {
    expect(readFrame({})).toBeUndefined()
    for (const damaged of ["", "1/2", "1/2/3/4", "a/2/3", "1/-2/3", "1/2/3.5", "1//3", " 1/2/3"]) {
      expect(readFrame({ [FRAME_HEADER]: damaged }), damaged).toBeUndefined()
    }
    expect(readFrame({ [LEGACY_EVENT_HEADER]: "seven" })).toBeUndefined()
  })
})
