/**
 * The JupyterLab extension: the Overmind sidebar, views in the main area and palette
 * commands. Each area of the UI installs itself from a `LabContext` (`lab.ts`); `AREAS`
 * lists them. Requests go through JupyterLab's `ServerConnection` (cookie, XSRF and
 * token handled there).
 */
import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import { HttpBackend } from './backend';
import { changesArea } from './changesarea';
import { LogView } from './components/logs';
import { objectivesArea } from './objectivesarea';
import { addCommand, type LabArea, type LabContext, type MainOpener,
  type Settings } from './lab';
import { Session, type MissionRow } from './session';
import { partyArea } from './partyarea';
import { promptArea } from './promptarea';
import { ModelDescription } from './settingsmodel';
import { addView, findView } from './shellarea';
import { OvermindSidebar } from './sidebar';
import iconSvg from '../style/overmind.svg';

const PLUGIN_ID = 'overmind-jupyter:sidebar';

export const overmindIcon = new LabIcon({ name: 'overmind-jupyter:icon', svgstr: iconSvg });

function labBackend(): HttpBackend {
  const settings = ServerConnection.makeSettings();
  return new HttpBackend(settings.baseUrl, settings.wsUrl,
    (url, init) => ServerConnection.makeRequest(url, init, settings));
}

async function readSettings(registry: ISettingRegistry | null): Promise<Settings> {
  const defaults = { showEnded: false, logLines: 5000, holdForReview: true, defaultAgent: '' };
  if (!registry) {
    return defaults;
  }
  try {
    const s = await registry.load(PLUGIN_ID);
    return { ...defaults, ...(s.composite as Partial<Settings>) };
  } catch {
    return defaults;
  }
}

function mainOpener(app: JupyterFrontEnd): MainOpener {
  return (id, label, make) => {
    const open = findView(app.shell, id);
    if (!open) {
      const view = make();
      const content = new Widget({ node: view.el });
      content.disposed.connect(() => view.dispose());
      const widget = new MainAreaWidget({ content });
      widget.id = id;
      widget.title.label = label;
      widget.title.icon = overmindIcon;
      widget.title.closable = true;
      addView(app.shell, widget); // Notebook 7 keeps `main` for the notebook
    }
    app.shell.activateById(id);
  };
}

function logOpener(open: MainOpener, backend: HttpBackend, settings: Settings) {
  return (m: MissionRow) => open(`overmind-logs-${m.id}`, `${m.name} logs`,
    () => new LogView(backend, m.id, { maxLines: settings.logLines, title: `logs of ${m.name}` }));
}

const inbox: LabArea = ctx => addCommand(ctx, 'overmind:open-inbox', {
  label: 'Overmind: Open inbox',
  caption: 'Show the questions waiting for an answer',
  execute: () => {
    ctx.app.shell.activateById(ctx.sidebar.id);
    ctx.sidebar.focusInbox();
  }
});

/** Every area of the UI, installed in this order. */
const AREAS: LabArea[] = [inbox, promptArea, partyArea, objectivesArea, changesArea];

async function activate(app: JupyterFrontEnd, palette: ICommandPalette | null,
  registry: ISettingRegistry | null, restorer: ILayoutRestorer | null): Promise<void> {
  const backend = labBackend();
  // the model status goes into the settings' description (Settings → Overmind) as they load
  const described = registry && await ModelDescription.install(registry, PLUGIN_ID, backend);
  const settings = await readSettings(registry);
  const session = new Session(backend, settings.showEnded);
  described?.follow(session);
  const open = mainOpener(app);
  const sidebar = new OvermindSidebar(session, logOpener(open, backend, settings));
  sidebar.title.icon = overmindIcon;
  app.shell.add(sidebar, 'left', { rank: 600 });
  restorer?.add(sidebar, sidebar.id);
  const ctx: LabContext = { app, palette, backend, session, sidebar, open, settings };
  for (const install of AREAS) {
    install(ctx);
  }
  void session.start();
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Overmind sidebar: missions and the questions inbox, live.',
  autoStart: true,
  optional: [ICommandPalette, ISettingRegistry, ILayoutRestorer],
  activate
};

export default plugin;
