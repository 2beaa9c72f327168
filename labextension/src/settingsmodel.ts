/**
 * The live model status in Settings → Overmind: the settings page's description begins
 * with which model answers prompts (`GET model`, the prompt box's status line), or that
 * none is configured and what to set on the server — never a key (`describe_model` names
 * the variables only). It is put there by a `fetch` transform of the setting registry
 * (`"jupyter.lab.transform": true` in `schema/sidebar.json`), registered before the
 * plugin's settings load. When the server does not answer (in `STATUS_TIMEOUT_MS`), the
 * description says so and the settings load all the same. After a reconnect (the server
 * may have restarted with another model) the status is read again, and the settings are
 * reloaded when it changed: an open Settings editor shows it then.
 */
import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import type { Backend } from './backend';
import { type ModelStatus, modelLine } from './components/promptbox';
import type { Session } from './session';

/** How long the status request may take before the description says it is unavailable. */
export const STATUS_TIMEOUT_MS = 5000;

/** The sentence put before the schema's own description: the status `GET model`
 * answered, or why there is none (`error`: the request's failure). */
export function statusSentence(status: ModelStatus | Error): string {
  if (status instanceof Error) {
    return `Model status unavailable: ${status.message}. It is read again once the server ` +
      'answers; the model is set there (OVERMIND_MODEL or c.Overmind.model).';
  }
  return `Model status (live from the server): ${modelLine(status)}.`;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** `GET model`, or an `Error` when it failed or took longer than `ms`. */
async function readStatus(backend: Backend, ms: number): Promise<ModelStatus | Error> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<Error>(resolve => {
    timer = setTimeout(() => resolve(new Error(`the server did not answer in ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([backend.call<ModelStatus>('GET', 'model'), late]);
  } catch (err) {
    return asError(err);
  } finally {
    clearTimeout(timer);
  }
}

/** Keeps the model status in the description of plugin `pluginId`'s settings (see the
 * module comment). */
export class ModelDescription {
  private sentence = 'Model status: not read yet.';
  /** The schema's own description (the first one the transform saw). */
  private base: string | null = null;
  private wasDown = false;

  private constructor(private readonly registry: ISettingRegistry,
    private readonly pluginId: string, private readonly backend: Backend) {}

  /**
   * Reads the status (at most `STATUS_TIMEOUT_MS`) and registers the transform; call it
   * before the plugin's settings are loaded.
   */
  static async install(registry: ISettingRegistry, pluginId: string,
    backend: Backend): Promise<ModelDescription> {
    const described = new ModelDescription(registry, pluginId, backend);
    await described.read();
    registry.transform(pluginId, { fetch: plugin => described.describe(plugin) });
    return described;
  }

  /** Read the status again whenever `session` comes back after a disconnection. */
  follow(session: Session): () => void {
    return session.listen(change => {
      if (!change.connection) {
        return;
      }
      if (session.connection === 'disconnected') {
        this.wasDown = true;
      } else if (session.connection === 'live' && this.wasDown) {
        this.wasDown = false;
        void this.refresh();
      }
    });
  }

  /** Read the status; reload the plugin's settings (the transform again) when it changed. */
  async refresh(): Promise<void> {
    if (await this.read()) {
      await this.registry.load(this.pluginId, true);
    }
  }

  /** Read the status; whether the sentence changed. */
  private async read(): Promise<boolean> {
    const sentence = statusSentence(await readStatus(this.backend, STATUS_TIMEOUT_MS));
    const changed = sentence !== this.sentence;
    this.sentence = sentence;
    return changed;
  }

  /** The `fetch` transform: the status put before the schema's own description. In
   * place: an open Settings editor keeps this schema object, and shows the new text when
   * the reload tells it the plugin changed. */
  private describe(plugin: ISettingRegistry.IPlugin): ISettingRegistry.IPlugin {
    this.base ??= plugin.schema.description ?? '';
    plugin.schema.description = `${this.sentence} ${this.base}`.trim();
    return plugin;
  }
}
