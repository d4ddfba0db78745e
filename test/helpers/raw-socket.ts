import { connect, type Socket } from "node:net";

/**
 * A raw TCP connection to 127.0.0.1:`port`, for requests no HTTP client would send. Errors (a reset after the
 * server's answer) are swallowed: the close they lead to is what the tests wait for. The caller destroys it.
 */
export async function openSocket(port: number): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  return socket;
}

/** Everything the server sends on `socket` until the connection closes, as latin1 text. */
export function receivedUntilClose(socket: Socket): Promise<string> {
  let text = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (text += chunk));
  return new Promise((resolve) => socket.once("close", () => resolve(text)));
}
