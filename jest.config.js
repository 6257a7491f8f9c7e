/** One jest config: unit specs beside the code (*.spec.ts) and integration/e2e tests in test/ (*.test.ts). */
const fs = require('node:fs');
const swcrc = JSON.parse(fs.readFileSync(`${__dirname}/.swcrc`, 'utf8'));
delete swcrc.$schema;
swcrc.jsc.baseUrl = __dirname;

module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: [
    '<rootDir>/libs/**/*.spec.ts',
    '<rootDir>/packages/**/*.spec.ts',
    '<rootDir>/apps/**/*.spec.ts',
    '<rootDir>/bench/**/*.spec.ts',
    '<rootDir>/test/**/*.test.ts',
  ],
  // @fastify/static (queue dashboard) pulls in content-disposition, which ships ES modules only; so do otplib's
  // base32 and HMAC dependencies (@scure/base, @noble/hashes)
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition|@scure/base|@noble/hashes)/)'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/packages/[^/]+/dist/', '<rootDir>/apps/console/'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { ...swcrc, swcrc: false }] },
  moduleNameMapper: {
    '^@app/([^/]+)$': '<rootDir>/libs/$1/src',
    '^@keyhold/audit-verify$': '<rootDir>/packages/audit-verify/src',
    '^@keyhold/client$': '<rootDir>/packages/client/src',
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  setupFiles: ['<rootDir>/test/support/env.ts'],
  testTimeout: 60000,
  maxWorkers: 2,
};
