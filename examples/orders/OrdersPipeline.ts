/**
 * Example pipeline on the kernel: orders in, per-customer order count and amount out.
 * Bad records go to the DLQ, redelivered orders count once, totals survive restarts.
 */
import { Schema } from "effect"
import { Monoids, Source, Topology } from "../../src/kernel/index.ts"

export const Order = Schema.Struct({
  order_id: Schema.NonEmptyString,
  customer_id: Schema.NonEmptyString,
  amount: Schema.Finite
})

const Totals = Schema.Struct({ orders: Schema.Int, amount: Schema.Finite })
type Totals = typeof Totals.Type

export const CustomerTotals = Schema.Struct({ customer_id: Schema.String, ...Totals.fields })

export const ordersPipeline = (topics: { readonly orders: string; readonly totals: string }) =>
  Topology.aggregate({
    name: "customer-totals",
    source: Source.make({ topic: topics.orders, schema: Order }),
    dedupe: { key: (order) => order.order_id, retentionMs: 7 * 24 * 3_600_000 },
    groupBy: (order) => order.customer_id,
    lift: (order): Totals => ({ orders: 1, amount: order.amount }),
    monoid: Monoids.struct<Totals>({ orders: Monoids.sum, amount: Monoids.sum }),
    state: Totals,
    publish: { topic: topics.totals, schema: CustomerTotals, render: (customer_id, totals) => ({ customer_id, ...totals }) }
  })
