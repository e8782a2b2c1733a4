/**
 * How the tests (and apps) wire a socket.io client into createGenericTransport: 'frame' events carry
 * (topic, data), 'join'/'leave' with an ack manage rooms, and the socket's connect/disconnect events drive
 * the transport's state. The socket belongs to the transport here, so onClose disconnects it.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { createGenericTransport, type Encoding, type GenericTransport } from '../src/index.js';

export interface SocketTransport {
  transport: GenericTransport;
  socket: Socket;
}

export function socketIoTransport(url: string, encoding: Encoding = 'binary'): SocketTransport {
  const socket = connect(url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 250 });
  const transport = createGenericTransport({
    encoding,
    send: (topic, data) => void socket.emit('frame', topic, data),
    onMessage: (listener) => {
      socket.on('frame', listener);
      return () => void socket.off('frame', listener);
    },
    subscribe: (topic) => socket.timeout(10_000).emitWithAck('join', topic),
    unsubscribe: (topic) => void socket.emit('leave', topic),
    connected: () => socket.connected,
    onConnectionChange: (listener) => {
      const up = () => listener(true);
      const down = () => listener(false);
      socket.on('connect', up);
      socket.on('disconnect', down);
      return () => void (socket.off('connect', up), socket.off('disconnect', down));
    },
    onClose: () => void socket.disconnect(),
  });
  return { transport, socket };
}
