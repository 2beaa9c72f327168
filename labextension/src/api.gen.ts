// Generated from overmind_jupyter/api/ by `python -m overmind_jupyter.server.codegen`: do not edit.

export interface AllQuery {
  all?: boolean;
}

export interface AnswerBody {
  text: string;
}

export interface ApplyBody {
  text: string;
  source?: string;
  base_dir?: string | null;
  name?: string | null;
}

export interface ChangesQuery {
  objective?: string | null;
}

export interface DiffQuery {
  path?: string | null;
}

export interface EventsQuery {
  after?: number;
  limit?: number;
  latest?: boolean;
  mission?: string | null;
  objective?: string | null;
  party?: string | null;
}

export interface HostBody {
  name?: string | null;
  auto_approve?: Array<string>;
  auto_approve_prompts?: boolean;
  auto_merge?: boolean;
}

export interface InviteBody {
  ttl_s?: number;
  role?: 'reviewer' | 'collaborator' | 'viewer';
}

export interface JoinBody {
  invite: string;
  name: string;
}

export interface KillBody {
  cascade?: boolean;
  force?: boolean;
}

export interface LeaveBody {
  member?: string | null;
}

export interface LogsQuery {
  tail?: number | null;
  follow?: boolean;
}

export interface MemberActionBody {
  action: 'approve' | 'deny' | 'kick' | 'role';
  role?: 'reviewer' | 'collaborator' | 'viewer' | null;
}

export interface MemberPromptBody {
  text: string;
}

export interface MessageBody {
  to: string;
  text: string;
}

export interface MessagesQuery {
  to?: string | null;
}

export interface NoParams {
}

export interface PartyPromptBody {
  text: string;
  member?: string | null;
  agent?: string | null;
}

export interface PartyReviewBody {
  action: 'merge' | 'close' | 'request-changes';
  change: string;
  text?: string | null;
  member?: string | null;
}

export interface PromptActionBody {
  action: 'approve' | 'deny' | 'share' | 'move';
  position?: number | null;
}

export interface PromptBody {
  text: string;
  agent?: string | null;
  wait?: boolean;
  shared?: boolean;
  auto_merge?: boolean | null;
  max_tokens?: number | null;
  max_cost_usd?: number | null;
  target?: string | null;
  model?: string | null;
}

export interface RemoteReceiveBody {
  name: string;
  bundle: string;
}

export interface RequestChangesBody {
  text: string;
}

export interface RestartBody {
  mode?: 'never' | 'on-failure' | 'always';
  max_restarts?: number;
  window_s?: number;
  backoff_ms?: number;
  cap_s?: number;
  stable_s?: number;
  jitter?: number;
}

export interface RunBody {
  command: Array<string>;
  name?: string | null;
  cwd?: string | null;
  env?: Record<string, string>;
  kind?: 'command' | 'agent' | 'session';
  parent?: string | null;
  agent?: string | null;
  restart?: RestartBody;
  activity_timeout_s?: number | null;
  grace_s?: number;
  worktree?: boolean;
  secret_env?: Record<string, string>;
}

export interface SendBody {
  text: string;
}

export interface StatsQuery {
  all?: boolean;
  stats?: boolean;
}

export interface StopBody {
  force?: boolean;
}

export interface TargetActionBody {
  action: 'drain' | 'disable' | 'enable' | 'remove';
}

export interface TargetAddBody {
  name: string;
  url: string;
  user: string;
  capacity?: number;
  token_env?: string | null;
  doctor?: boolean;
  warm?: number;
}

export interface WaitBody {
  timeout_s?: number | null;
}

export interface WaitObjectiveBody {
  timeout_s?: number | null;
  or_question?: boolean;
}

/** Every operation of the host REST API (relative to `<base>overmind/api/`). */
export interface Operations {
  status: { method: 'GET'; path: 'status'; request: NoParams };
  ps_stats: { method: 'GET'; path: 'missions'; request: StatsQuery };
  ps: { method: 'GET'; path: 'missions'; request: AllQuery };
  run: { method: 'POST'; path: 'missions'; request: RunBody };
  info: { method: 'GET'; path: 'missions/{ref}'; request: NoParams };
  logs: { method: 'GET'; path: 'missions/{ref}/logs'; request: LogsQuery };
  send: { method: 'POST'; path: 'missions/{ref}/send'; request: SendBody };
  stop: { method: 'POST'; path: 'missions/{ref}/stop'; request: StopBody };
  restart: { method: 'POST'; path: 'missions/{ref}/restart'; request: NoParams };
  kill: { method: 'POST'; path: 'missions/{ref}/kill'; request: KillBody };
  wait: { method: 'POST'; path: 'missions/{ref}/wait'; request: WaitBody };
  attach: { method: 'GET'; path: 'missions/{ref}/attach'; request: NoParams };
  apply: { method: 'POST'; path: 'blueprints'; request: ApplyBody };
  events: { method: 'GET'; path: 'events'; request: EventsQuery };
  list_agents: { method: 'GET'; path: 'agents'; request: NoParams };
  model_status: { method: 'GET'; path: 'model'; request: NoParams };
  list_questions: { method: 'GET'; path: 'questions'; request: NoParams };
  needs_you: { method: 'GET'; path: 'needs-you'; request: NoParams };
  answer: { method: 'POST'; path: 'questions/{ref}/answer'; request: AnswerBody };
  shutdown: { method: 'POST'; path: 'shutdown'; request: NoParams };
  openapi: { method: 'GET'; path: 'openapi.json'; request: NoParams };
  party_status: { method: 'GET'; path: 'party'; request: NoParams };
  host: { method: 'POST'; path: 'party'; request: HostBody };
  invite: { method: 'POST'; path: 'party/invites'; request: InviteBody };
  revoke_invite: { method: 'POST'; path: 'party/invites/{ref}/revoke'; request: NoParams };
  member_action: { method: 'POST'; path: 'party/members/{ref}'; request: MemberActionBody };
  party_prompt: { method: 'POST'; path: 'party/prompts'; request: PartyPromptBody };
  party_review: { method: 'POST'; path: 'party/review'; request: PartyReviewBody };
  prompt_action: { method: 'POST'; path: 'party/prompts/{ref}'; request: PromptActionBody };
  targets: { method: 'GET'; path: 'targets'; request: NoParams };
  target_add: { method: 'POST'; path: 'targets'; request: TargetAddBody };
  target_action: { method: 'POST'; path: 'targets/{ref}'; request: TargetActionBody };
  target_doctor: { method: 'POST'; path: 'targets/{ref}/doctor'; request: NoParams };
  remote_receive: { method: 'POST'; path: 'remote/workspaces'; request: RemoteReceiveBody };
  remote_result: { method: 'POST'; path: 'remote/workspaces/{ref}/result'; request: NoParams };
  remote_discard: { method: 'POST'; path: 'remote/workspaces/{ref}/remove'; request: NoParams };
  join: { method: 'POST'; path: 'party/join'; request: JoinBody };
  leave: { method: 'POST'; path: 'party/leave'; request: LeaveBody };
  close_party: { method: 'POST'; path: 'party/close'; request: NoParams };
  member_view: { method: 'GET'; path: 'party/me'; request: NoParams };
  member_prompt: { method: 'POST'; path: 'party/me/prompts'; request: MemberPromptBody };
  prompt: { method: 'POST'; path: 'prompts'; request: PromptBody };
  objectives: { method: 'GET'; path: 'objectives'; request: NoParams };
  objective: { method: 'GET'; path: 'objectives/{ref}'; request: NoParams };
  wait_objective: { method: 'POST'; path: 'objectives/{ref}/wait'; request: WaitObjectiveBody };
  cancel_objective: { method: 'POST'; path: 'objectives/{ref}/cancel'; request: NoParams };
  messages: { method: 'GET'; path: 'messages'; request: MessagesQuery };
  send_message: { method: 'POST'; path: 'messages'; request: MessageBody };
  changes: { method: 'GET'; path: 'changes'; request: ChangesQuery };
  change: { method: 'GET'; path: 'changes/{ref}'; request: NoParams };
  diff: { method: 'GET'; path: 'changes/{ref}/diff'; request: DiffQuery };
  change_files: { method: 'GET'; path: 'changes/{ref}/files'; request: NoParams };
  request_changes: { method: 'POST'; path: 'changes/{ref}/request-changes'; request: RequestChangesBody };
  merge: { method: 'POST'; path: 'changes/{ref}/merge'; request: NoParams };
  check_change: { method: 'POST'; path: 'changes/{ref}/check'; request: NoParams };
  close_change: { method: 'POST'; path: 'changes/{ref}/close'; request: NoParams };
  reopen_change: { method: 'POST'; path: 'changes/{ref}/reopen'; request: NoParams };
}

export const ROUTES: ReadonlyArray<readonly ['GET' | 'POST', string]> = [
  ['GET', 'status'],
  ['GET', 'missions'],
  ['GET', 'missions'],
  ['POST', 'missions'],
  ['GET', 'missions/{ref}'],
  ['GET', 'missions/{ref}/logs'],
  ['POST', 'missions/{ref}/send'],
  ['POST', 'missions/{ref}/stop'],
  ['POST', 'missions/{ref}/restart'],
  ['POST', 'missions/{ref}/kill'],
  ['POST', 'missions/{ref}/wait'],
  ['GET', 'missions/{ref}/attach'],
  ['POST', 'blueprints'],
  ['GET', 'events'],
  ['GET', 'agents'],
  ['GET', 'model'],
  ['GET', 'questions'],
  ['GET', 'needs-you'],
  ['POST', 'questions/{ref}/answer'],
  ['POST', 'shutdown'],
  ['GET', 'openapi.json'],
  ['GET', 'party'],
  ['POST', 'party'],
  ['POST', 'party/invites'],
  ['POST', 'party/invites/{ref}/revoke'],
  ['POST', 'party/members/{ref}'],
  ['POST', 'party/prompts'],
  ['POST', 'party/review'],
  ['POST', 'party/prompts/{ref}'],
  ['GET', 'targets'],
  ['POST', 'targets'],
  ['POST', 'targets/{ref}'],
  ['POST', 'targets/{ref}/doctor'],
  ['POST', 'remote/workspaces'],
  ['POST', 'remote/workspaces/{ref}/result'],
  ['POST', 'remote/workspaces/{ref}/remove'],
  ['POST', 'party/join'],
  ['POST', 'party/leave'],
  ['POST', 'party/close'],
  ['GET', 'party/me'],
  ['POST', 'party/me/prompts'],
  ['POST', 'prompts'],
  ['GET', 'objectives'],
  ['GET', 'objectives/{ref}'],
  ['POST', 'objectives/{ref}/wait'],
  ['POST', 'objectives/{ref}/cancel'],
  ['GET', 'messages'],
  ['POST', 'messages'],
  ['GET', 'changes'],
  ['GET', 'changes/{ref}'],
  ['GET', 'changes/{ref}/diff'],
  ['GET', 'changes/{ref}/files'],
  ['POST', 'changes/{ref}/request-changes'],
  ['POST', 'changes/{ref}/merge'],
  ['POST', 'changes/{ref}/check'],
  ['POST', 'changes/{ref}/close'],
  ['POST', 'changes/{ref}/reopen'],
];
