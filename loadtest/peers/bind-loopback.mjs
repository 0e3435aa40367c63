// Preloaded into a peer server (node --import ./bind-loopback.mjs ...) so
// that a server that listens on every interface listens on 127.0.0.1 only:
// the benchmarks stay on loopback without changing the peer's code.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  // listen(port[, host][, backlog][, cb]) and listen({ port, host })
  if (typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0]))
    return listen.call(this, { ...args[0], host: '127.0.0.1' }, ...args.slice(1));
  if (typeof args[0] === 'number' || typeof args[0] === 'string') {
    const rest = typeof args[1] === 'string' ? args.slice(2) : args.slice(1);
    return listen.call(this, args[0], '127.0.0.1', ...rest);
  }
  return listen.apply(this, args);
};
