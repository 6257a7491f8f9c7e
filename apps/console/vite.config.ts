import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The tenant admin console. `@vitejs/plugin-react` is not installed (peer conflict), so JSX goes through Vite's
 * built-in Oxc transform with React's automatic runtime; there is no fast refresh, which a small admin SPA can
 * live without. The API serves `dist/` at `/`, so every asset is same-origin and the CSP can stay strict.
 */
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    // Never inline anything as a data: URL: the console makes no fetches other than to the API.
    assetsInlineLimit: 0,
    target: 'es2022',
  },
  server: {
    // `npx vite --config apps/console/vite.config.ts` for UI work against a locally running API.
    proxy: { '/v1': process.env.KEYHOLD_API_URL ?? 'http://127.0.0.1:3000' },
  },
});
