/**
 * A port for a test server that must know its port before it binds (a layer configured
 * with HTTP_PORT). Picked at random below Linux's ephemeral range (32768-60999), from
 * which the kernel hands out the local ports of outgoing connections and of listen(0):
 * a random pick inside it could be taken, between the pick and the bind, by any
 * connection another test opens (this made the HTTP tests fail now and then in CI).
 */
export const randomListenPort = (): number => 20_000 + Math.floor(Math.random() * 12_000)
