/**
 * The JupyterLab extension: the Overmind sidebar (missions + questions inbox), log views
 * in the main area, and the `Overmind: Open inbox` command. Requests go through
 * JupyterLab's `ServerConnection` (cookie, XSRF and token handled there).
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
import { LogView } from './components/logs';
import { Session, type MissionRow } from './session';
import { OvermindSidebar } from './sidebar';
import iconSvg from '../style/overmind.svg';

const PLUGIN_ID = 'overmind-jupyter:sidebar';

export const overmindIcon = new LabIcon({ name: 'overmind-jupyter:icon', svgstr: iconSvg });

interface Settings {
  showEnded: boolean;
  logLines: number;
}

function labBackend(): HttpBackend {
  const settings = ServerConnection.makeSettings();
  return new HttpBackend(settings.baseUrl, settings.wsUrl,
    (url, init) => ServerConnection.makeRequest(url, init, settings));
}

async function readSettings(registry: ISettingRegistry | null): Promise<Settings> {
  const defaults = { showEnded: false, logLines: 5000 };
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

function logOpener(app: JupyterFrontEnd, backend: HttpBackend, settings: Settings) {
  return (m: MissionRow) => {
    const id = `overmind-logs-${m.id}`;
    const open = Array.from(app.shell.widgets('main')).find(w => w.id === id);
    if (open) {
      app.shell.activateById(id);
      return;
    }
    const view = new LogView(backend, m.id, { maxLines: settings.logLines, title: `logs of ${m.name}` });
    const content = new Widget({ node: view.el });
    content.disposed.connect(() => view.dispose());
    const widget = new MainAreaWidget({ content });
    widget.id = id;
    widget.title.label = `${m.name} logs`;
    widget.title.icon = overmindIcon;
    widget.title.closable = true;
    app.shell.add(widget, 'main');
    app.shell.activateById(id);
  };
}

async function activate(app: JupyterFrontEnd, palette: ICommandPalette | null,
  registry: ISettingRegistry | null, restorer: ILayoutRestorer | null): Promise<void> {
  const settings = await readSettings(registry);
  const backend = labBackend();
  const session = new Session(backend, settings.showEnded);
  const sidebar = new OvermindSidebar(session, logOpener(app, backend, settings));
  sidebar.title.icon = overmindIcon;
  app.shell.add(sidebar, 'left', { rank: 600 });
  restorer?.add(sidebar, sidebar.id);
  void session.start();
  app.commands.addCommand('overmind:open-inbox', {
    label: 'Overmind: Open inbox',
    caption: 'Show the questions waiting for an answer',
    execute: () => {
      app.shell.activateById(sidebar.id);
      sidebar.focusInbox();
    }
  });
  palette?.addItem({ command: 'overmind:open-inbox', category: 'Overmind' });
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Overmind sidebar: missions and the questions inbox, live.',
  autoStart: true,
  optional: [ICommandPalette, ISettingRegistry, ILayoutRestorer],
  activate
};

export default plugin;
