// Preloaded into NNI's Node.js manager (NODE_OPTIONS="--require <this file>") by vkdnw_nni's
// loopback helpers: every server that would listen on all interfaces listens on 127.0.0.1 instead.
'use strict';
const net = require('net');
const original = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args.length && typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0])) {
    if (args[0].path === undefined && !args[0].host) args[0] = Object.assign({}, args[0], { host: '127.0.0.1' });
  } else if (args.length && (typeof args[0] === 'number' || /^\d+$/.test(String(args[0])))) {
    if (typeof args[1] !== 'string' || args[1] === '' || args[1] === '0.0.0.0' || args[1] === '::') {
      const rest = typeof args[1] === 'string' ? args.slice(2) : args.slice(1);
      args = [args[0], '127.0.0.1', ...rest];
    }
  }
  return original.apply(this, args);
};
