// Test-only: start the telegram-test-api Bot API emulator on 127.0.0.1:<port>.
// Usage: node start.js <port>. Prints "ready" when listening; stops on SIGTERM/SIGINT.
const TelegramServer = require('telegram-test-api');

const port = Number(process.argv[2]);
const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 600 });

async function stop() {
  await server.stop();
  process.exit(0);
}

server.start().then(() => console.log('ready'));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
