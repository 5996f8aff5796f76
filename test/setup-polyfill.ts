// Node 20 lacks Promise.withResolvers, which libp2p calls (shared/STACK.md): the daemon's own polyfill.
import '../packages/daemon/src/polyfill.js'
