// The page's router: #<view>?<params> picks a view module; each view mounts into <main> and returns a
// function that stops its timers when another view replaces it.
import { mountRuns } from './runs.js';
import { mountRace } from './race.js';
import { mountMasks } from './masks.js';
import { mountTry } from './try.js';
import { api, errorBox } from './util.js';

const VIEWS = { runs: mountRuns, race: mountRace, masks: mountMasks, try: mountTry };
let unmount = null;

function route() {
  const [name, query] = (location.hash.slice(1) || 'runs').split('?');
  const view = VIEWS[name] ? name : 'runs';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === view);
  if (unmount) unmount();
  unmount = null;
  const main = document.getElementById('view');
  main.replaceChildren();
  main.dataset.view = view;
  try {
    unmount = VIEWS[view](main, new URLSearchParams(query ?? '')) ?? null;
  } catch (e) {
    main.append(errorBox(e.message));
  }
}

window.addEventListener('hashchange', route);
route();
api('runs').then((r) => { document.getElementById('root').textContent = r.root; }).catch(() => {});
