// The two modes of the page as tabs: node classification (#app) and molecules (#molecules). The address's hash
// (#molecules) opens the molecule mode directly. A mode keeps training while the other is shown.
const TABS = [
  { tab: 'tab-nodes', panel: 'app', hash: '' },
  { tab: 'tab-molecules', panel: 'molecules', hash: '#molecules' },
];

export function setUpTabs(): void {
  const show = (panel: string) => {
    for (const t of TABS) {
      const selected = t.panel === panel;
      document.getElementById(t.tab)!.setAttribute('aria-selected', String(selected));
      document.getElementById(t.panel)!.hidden = !selected;
    }
    const hash = TABS.find((t) => t.panel === panel)!.hash;
    if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname + location.search);
  };
  for (const t of TABS) document.getElementById(t.tab)!.addEventListener('click', () => show(t.panel));
  show(TABS.find((t) => t.hash && t.hash === location.hash)?.panel ?? 'app');
}
