//! The console's words. Every string a page shows is a field of [`Texts`]: one table per
//! locale ([`ZH`], the default, and [`EN`]), written side by side below so neither can
//! miss a key (a missing one does not compile). Errors on screen come from here too,
//! never from a library's message.

use gridpad_domain::codes::{EventStatus, TaskStatus};

/// The console's languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The cookie that remembers the choice.
    pub const COOKIE: &'static str = "gridhub_lang";

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    pub fn t(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// The name of an event status.
    pub fn status(self, s: &str) -> &'static str {
        let t = self.t();
        match EventStatus::parse(s) {
            Some(EventStatus::Draft) => t.st_draft,
            Some(EventStatus::Reported) => t.st_reported,
            Some(EventStatus::Accepted) => t.st_accepted,
            Some(EventStatus::Rejected) => t.st_rejected,
            Some(EventStatus::Dispatched) => t.st_dispatched,
            Some(EventStatus::Handled) => t.st_handled,
            Some(EventStatus::Verified) => t.st_verified,
            Some(EventStatus::Closed) => t.st_closed,
            Some(EventStatus::HandledOnSpot) => t.st_handled_on_spot,
            Some(EventStatus::Escalated) => t.st_escalated,
            None => t.unknown,
        }
    }

    /// The name of a task status.
    pub fn task_status(self, s: &str) -> &'static str {
        let t = self.t();
        match TaskStatus::parse(s) {
            Some(TaskStatus::Assigned) => t.tst_assigned,
            Some(TaskStatus::Accepted) => t.tst_accepted,
            Some(TaskStatus::InProgress) => t.tst_in_progress,
            Some(TaskStatus::Completed) => t.tst_completed,
            Some(TaskStatus::Rejected) => t.tst_rejected,
            Some(TaskStatus::Closed) => t.tst_closed,
            Some(TaskStatus::Cancelled) => t.tst_cancelled,
            None => t.unknown,
        }
    }

    /// The name of a deadline colour.
    pub fn colour(self, c: &str) -> &'static str {
        let t = self.t();
        match c {
            "green" => t.colour_green,
            "yellow" => t.colour_yellow,
            "red" => t.colour_red,
            "overdue" => t.colour_overdue,
            _ => t.colour_none,
        }
    }

    /// What is wrong with a catalog edit.
    pub fn catalog_problem(self, p: crate::catalog::Problem) -> &'static str {
        use crate::catalog::Problem::*;
        let t = self.t();
        match p {
            NameMissing => t.catp_name_missing,
            NameTooLong => t.catp_name_too_long,
            DepartmentTooLong => t.catp_department_too_long,
            DeadlineRange => t.catp_deadline_range,
            DeadlineUnit => t.catp_deadline_unit,
            ThresholdRange => t.catp_threshold_range,
            ThresholdOrder => t.catp_threshold_order,
            MinPhotos => t.catp_min_photos,
            Pixels => t.catp_pixels,
            Quality => t.catp_quality,
            Bytes => t.catp_bytes,
            TooManyFields => t.catp_too_many_fields,
            FieldKey => t.catp_field_key,
            FieldKeyTwice => t.catp_field_key_twice,
            FieldLabel => t.catp_field_label,
            FieldKind => t.catp_field_kind,
            FieldChoices => t.catp_field_choices,
            RoutingLevel => t.catp_routing_level,
            RoutingDepartment => t.catp_routing_department,
            RoutingTwice => t.catp_routing_twice,
        }
    }

    /// The name of a role.
    pub fn role(self, r: &str) -> &'static str {
        let t = self.t();
        match r {
            "dispatcher" => t.role_dispatcher,
            "department_handler" => t.role_department_handler,
            "supervisor" => t.role_supervisor,
            "fleet_manager" => t.role_fleet_manager,
            "auditor" => t.role_auditor,
            "system_administrator" => t.role_system_administrator,
            "field_staff" => t.role_field_staff,
            _ => t.role_other,
        }
    }
}

macro_rules! texts {
    ($($key:ident: $zh:literal, $en:literal;)+) => {
        /// Every string of the console, in one language.
        pub struct Texts { $(pub $key: &'static str,)+ }
        /// 简体中文 (the default).
        pub static ZH: Texts = Texts { $($key: $zh,)+ };
        /// English.
        pub static EN: Texts = Texts { $($key: $en,)+ };
    };
}

texts! {
    // The frame of every page.
    app_name: "网格化指挥中心", "Command centre";
    nav_queue: "事件", "Events";
    nav_tasks: "任务", "Tasks";
    nav_notices: "通知公告", "Notices";
    nav_devices: "终端", "Devices";
    nav_catalog: "事项清单", "Catalog";
    nav_audit: "审计日志", "Audit log";
    switch_to: "English", "中文";
    logout: "退出", "Sign out";
    unknown: "未知", "unknown";
    none: "—", "—";
    // Login.
    login_title: "登录指挥中心", "Sign in to the command centre";
    username: "用户名", "Username";
    password: "密码", "Password";
    totp: "动态验证码", "One-time code";
    totp_hint: "此账号已启用双因素认证：请输入验证器应用中的 6 位动态码。", "This account uses two-factor sign-in: enter the 6-digit code from the authenticator app.";
    login_button: "登录", "Sign in";
    login_bad: "用户名或密码错误。", "Wrong username or password.";
    login_locked: "连续失败次数过多，账号已锁定。请在以下时间后重试（分钟）：", "Too many failed attempts: this account is locked. Try again in (minutes):";
    login_totp_bad: "动态验证码不正确，请重新输入。", "The one-time code is not right; enter it again.";
    logged_out: "您已退出登录。", "You have signed out.";
    session_ended: "会话已结束，请重新登录。", "The session has ended; please sign in again.";
    // Queue.
    queue_title: "事件队列", "Event queue";
    filter: "筛选", "Filter";
    filter_apply: "应用筛选", "Apply";
    filter_clear: "清除", "Clear";
    f_status: "状态", "Status";
    f_category: "类别（大类/小类）", "Category";
    f_node: "区域", "Area";
    f_colour: "时限预警", "Deadline";
    f_from: "上报日期从", "Reported from";
    f_to: "至", "to";
    f_text: "关键字", "Text";
    all: "全部", "All";
    col_reported: "上报时间", "Reported";
    col_category: "类别", "Category";
    col_description: "描述", "Description";
    col_grid: "网格", "Grid";
    col_status: "状态", "Status";
    col_deadline: "时限", "Deadline";
    col_photos: "照片", "Photos";
    queue_empty: "没有符合条件的事件。", "No events match.";
    next_page: "下一页 →", "Next page →";
    first_page: "← 第一页", "← First page";
    live_note: "新上报的事件会自动出现。", "New reports appear by themselves.";
    total_shown: "符合条件", "Matching";
    // Statuses.
    st_draft: "草稿", "Draft";
    st_reported: "待受理", "Reported";
    st_accepted: "已立案", "Accepted";
    st_rejected: "不予受理", "Rejected";
    st_dispatched: "已派遣", "Dispatched";
    st_handled: "已处置", "Handled";
    st_verified: "已核查", "Verified";
    st_closed: "已结案", "Closed";
    st_handled_on_spot: "自行处置", "Handled on the spot";
    st_escalated: "已上报上级", "Escalated";
    colour_green: "正常", "On time";
    colour_yellow: "黄色预警", "Yellow";
    colour_red: "红色预警", "Red";
    colour_overdue: "已超时", "Overdue";
    colour_none: "无时限", "No deadline";
    // Event page.
    back_to_queue: "← 返回事件队列", "← Back to the queue";
    ev_description: "事件描述", "Description";
    ev_address: "地址", "Address";
    ev_fields: "类别要素", "Category fields";
    ev_reporter: "上报人", "Reporter";
    ev_device: "上报终端", "Device";
    ev_position: "位置", "Position";
    ev_accuracy: "精度", "accuracy";
    ev_no_position: "无定位", "No position";
    ev_device_time: "终端时间", "Device time";
    ev_reported_at: "上报时间", "Reported at";
    ev_deadline: "处置时限", "Deadline";
    ev_photos: "现场照片", "Photos";
    ev_photos_received: "已收到照片", "Photos received";
    ev_photos_complete: "照片已收齐", "All photos received";
    ev_photos_incomplete: "照片未收齐，终端下次同步时补传", "Photos missing: the device sends them at its next sync";
    ev_photo_missing: "照片尚未收到", "Photo not received yet";
    ev_no_photos: "本事件没有照片。", "This report has no photos.";
    ev_result_photos: "处置照片", "Result photos";
    ev_seal: "防篡改校验", "Seal check";
    seal_ok: "通过：记录与终端封存一致", "OK: the record matches the device's seal";
    seal_unsealed: "尚未收到封存记录", "No seal received yet";
    seal_altered: "不一致：记录在封存后被改动", "Altered: the record differs from its seal";
    seal_gap: "封存链有缺口", "Gap in the seal chain";
    seal_other: "封存链异常", "Seal chain problem";
    ev_timeline: "处理过程", "Timeline";
    ev_actions: "处理", "Actions";
    ev_no_actions: "当前状态下您没有可执行的操作。", "There is nothing your role can do in this state.";
    act_accept: "受理/立案", "Accept (立案)";
    act_reject: "不予受理", "Reject";
    act_reject_reason: "不予受理的理由（必填）", "Reason for rejecting (required)";
    act_dispatch: "派遣至网格", "Dispatch to the grid";
    act_deadline_hours: "处置时限（小时，留空按事项清单）", "Deadline (hours; empty: the catalog's)";
    task_deadline_hours: "处置时限（小时）", "Deadline (hours)";
    act_no_catalog_deadline: "事项清单未规定", "none in the catalog";
    unit_hours: "小时", "hours";
    unit_working_hours: "工作小时", "working hours";
    unit_working_days: "个工作日", "working days";
    act_verify: "核查通过", "Verified";
    act_return: "退回重新处置", "Send back for rework";
    act_return_reason: "退回理由（必填）", "Why it goes back (required)";
    act_close: "结案", "Close";
    act_note: "添加备注", "Add a note";
    act_note_text: "备注", "Note";
    act_optional_note: "说明（可选）", "Note (optional)";
    act_dispatch_department: "派遣至职能部门", "Dispatch to a department";
    act_department: "职能部门", "Department";
    act_routed: "按事项清单分流", "routed by the catalog";
    act_escalate: "上报上级", "Escalate";
    act_escalate_to: "上报至", "Goes up to";
    act_escalate_reason: "上报理由（必填）", "Why it goes up (required)";
    act_send_back: "退回下级", "Send back down";
    act_send_back_to: "退回至", "Goes back to";
    act_send_back_reason: "退回理由（必填）", "Why it goes back (required)";
    act_department_sign: "签收", "Sign for it";
    act_department_handle: "处置完毕", "Handled";
    act_department_feedback: "处置情况（必填）", "What was done (required)";
    act_department_return: "退回（非本部门职责）", "Return (not this department's work)";
    act_department_return_reason: "退回理由（必填）", "Why it is returned (required)";
    done_dispatched_department: "已派遣至职能部门。", "Dispatched to the department.";
    done_escalated: "已上报上级。", "Escalated to the level above.";
    done_sent_back: "已退回下级。", "Sent back down.";
    done_department_signed: "已签收。", "Signed for.";
    done_department_handled: "已报处置完毕，等待核查。", "Reported handled; awaiting verification.";
    done_department_returned: "已退回派遣方。", "Returned to the dispatchers.";
    ev_holder: "当前承办", "Held by";
    ev_held_elsewhere: "此事件目前由其他层级或部门承办：您可以查看，但不能操作。", "Another level or department holds this event: you can see it but not act on it.";
    err_held_elsewhere: "此事件已由其他层级或部门承办，未执行。", "Another level or department holds this event now; nothing was done.";
    err_no_level_above: "已是最高层级，无法再上报。未执行。", "There is no level above this one; nothing was done.";
    done_accepted: "已受理立案。", "Accepted.";
    done_rejected: "已不予受理。", "Rejected.";
    done_dispatched: "已派遣至网格，终端下次同步时收到任务。", "Dispatched: the grid's devices receive the task at their next sync.";
    done_verified: "已核查。", "Verified.";
    done_closed: "已结案。", "Closed.";
    done_returned: "已退回网格重新处置。", "Sent back to the grid.";
    done_noted: "备注已添加。", "Note added.";
    err_stale: "此事件在您打开页面后已被更改（可能是重复提交，或其他调度员刚刚处理过）。本次操作未执行，请核对最新状态后再操作。", "This event changed after the page was loaded (a second click, or another dispatcher acted first). Nothing was done; check its current state and try again.";
    err_not_allowed: "事件当前的状态不允许此操作，未执行。", "The event's current state does not allow this; nothing was done.";
    err_reason_needed: "请填写理由。", "Please give a reason.";
    err_note_needed: "请填写备注内容。", "Please write the note.";
    err_too_long: "内容过长（最多 2000 字）。", "Too long (at most 2,000 characters).";
    err_no_deadline: "事项清单未规定此类事件的处置时限，请填写时限后再派遣。未执行。", "The catalog gives no deadline for this kind of event: give one to dispatch it. Nothing was done.";
    err_no_calendar: "工作日历缺少所需年份，请管理员导入当年的节假日安排。未执行。", "The working-time calendar lacks a year this deadline needs: an administrator must import that year's holidays. Nothing was done.";
    err_bad_hours: "处置时限应为 1 到 8784 小时。", "The deadline is 1 to 8,784 hours.";
    // Timeline words.
    tl_reported: "上报", "reported";
    tl_note: "备注", "note";
    // Audit.
    audit_title: "审计日志", "Audit log";
    audit_actor: "操作人", "Who";
    audit_action: "操作（前缀）", "Action (prefix)";
    audit_target: "对象", "Target";
    audit_search: "查询", "Search";
    audit_at: "时间", "When";
    audit_role: "角色", "Role";
    audit_address: "来源地址", "From";
    audit_detail: "内容", "Detail";
    audit_seq: "序号", "No.";
    audit_chain_ok: "审计链完整：共 {} 条，均未被改动。", "The chain is intact: {} lines, none changed.";
    audit_chain_broken: "审计链在第 {} 条断开！", "The chain breaks at line {}!";
    audit_empty: "没有符合条件的记录。", "No lines match.";
    older: "更早 →", "Older →";
    newest: "← 最新", "← Newest";
    // Tasks.
    task_title: "任务", "Tasks";
    task_new: "新建任务", "New task";
    task_name: "任务标题", "Title";
    task_body: "任务说明", "Description";
    task_create: "下发任务", "Create the task";
    task_empty: "没有符合条件的任务。", "No tasks match.";
    task_created: "下发时间", "Created";
    task_feedback: "处置反馈", "Feedback";
    task_reject_reason: "退回理由", "Why it was sent back";
    back_to_tasks: "← 返回任务列表", "← Back to the tasks";
    task_assignee: "指定处置人", "Assigned to";
    task_source: "来源事件", "From event";
    task_open_event: "查看事件", "Open the event";
    task_from_event: "由事件派遣", "Dispatched from an event";
    task_progress: "处置进度", "Progress";
    task_updated: "终端最近上报：", "Last reported by the device:";
    task_waiting: "网格终端下次同步时收到此任务。", "The grid's devices receive this task at their next sync.";
    task_need_grid: "请选择网格。", "Choose a grid.";
    task_need_title: "请填写任务标题。", "Please give the task a title.";
    task_twice: "此表单已提交过，任务只下发一次。", "This form was already sent; the task was created once.";
    task_created_done: "任务已下发，网格终端下次同步时收到。", "Task created: the grid's devices receive it at their next sync.";
    task_refused: "无法下发：网格不存在或不在您的管辖区域内，或内容无效。未执行。", "Not created: the grid does not exist or is outside your area, or the text is not valid. Nothing was done.";
    tst_assigned: "已下发", "Assigned";
    tst_accepted: "已接收", "Accepted";
    tst_in_progress: "处置中", "In progress";
    tst_completed: "已完成", "Completed";
    tst_rejected: "已退回", "Sent back";
    tst_closed: "已关闭", "Closed";
    tst_cancelled: "已撤销", "Cancelled";
    // Notices.
    notice_title: "通知公告", "Notices";
    notice_new: "发布通知", "Publish a notice";
    notice_name: "标题", "Title";
    notice_body: "正文", "Text";
    notice_target: "发送范围", "Goes to";
    notice_role: "接收对象", "Devices";
    notice_role_all: "范围内全部终端", "Every device there";
    notice_role_staff: "仅网格员终端（按人员登记）", "Field staff's only (enrolled for a person)";
    notice_role_hint: "终端的角色是其登记所属账号的角色：只有网格员账号可以登记终端；按持有人和网格登记的终端没有角色，只按区域接收。", "A device's role is that of the account it was enrolled for: only field staff accounts enroll devices; a device issued to a named holder for a grid has no role and receives by area only.";
    notice_publish: "发布", "Publish";
    notice_everyone: "全部终端", "Every device";
    notice_empty: "还没有发往您管辖区域的通知。", "No notices have gone to your area yet.";
    notice_published: "发布时间", "Published";
    notice_read: "阅读情况", "Read";
    notice_read_by: "{n} / {m} 台终端已读", "read by {n} of {m} devices";
    notice_readers: "已读终端", "Read by";
    notice_unread: "未读终端", "Not read yet";
    notice_read_at: "阅读时间", "Read at";
    notice_nobody_read: "还没有终端阅读此通知。", "No device has read it yet.";
    notice_all_read: "范围内的终端都已阅读。", "Every device it went to has read it.";
    notice_need_title: "请填写通知标题。", "Please give the notice a title.";
    notice_need_body: "请填写通知正文。", "Please write the notice's text.";
    notice_need_node: "请选择发送范围。", "Choose where the notice goes.";
    notice_too_long: "内容过长（标题最多 200 字，正文最多 20000 字）。未执行。", "Too long (a title of at most 200 characters, a text of at most 20,000). Nothing was done.";
    notice_bad_role: "接收对象无效：终端只有网格员角色。未执行。", "Not a role a device has (only field staff's devices have one). Nothing was done.";
    notice_twice: "此表单已提交过，通知只发布一次。", "This form was already sent; the notice was published once.";
    notice_done: "通知已发布，范围内的终端下次同步时收到。", "Notice published: the devices it goes to receive it at their next sync.";
    notice_refused: "无法发布：所选区域不存在或不在您的管辖区域内，或内容无效。未执行。", "Not published: the place chosen does not exist or is outside your area, or the text is not valid. Nothing was done.";
    back_to_notices: "← 返回通知列表", "← Back to the notices";
    // Devices.
    dev_title: "终端管理", "Devices";
    dev_device: "终端", "Device";
    dev_holder: "持有人", "Holder";
    dev_version: "应用版本", "App version";
    dev_last_sync: "最近同步", "Last sync";
    dev_outbox: "待上传", "Waiting to send";
    dev_queue: "终端待上传的记录数", "Records the device still has to send";
    dev_oldest: "最早一条", "oldest";
    dev_dead: "无法提交", "refused";
    dev_quarantined: "隔离数据", "set aside";
    dev_clock: "时钟偏差", "Clock offset";
    dev_never: "从未同步", "never";
    dev_active: "正常", "Active";
    dev_locked: "已锁定", "Locked";
    dev_wiped: "已清除", "Wiped";
    dev_stale: "超过多少小时未同步", "No sync for more than (hours)";
    dev_sort: "排序", "Order";
    dev_sort_oldest: "最久未同步在前", "Longest silent first";
    dev_sort_newest: "最近同步在前", "Most recent first";
    dev_empty: "没有符合条件的终端。", "No devices match.";
    dev_lock: "锁定", "Lock";
    dev_unlock: "解除锁定", "Unlock";
    dev_wipe: "清除数据…", "Wipe…";
    dev_wiped_hint: "已清除的终端需使用新的注册码重新注册。", "A wiped device must be enrolled again with a new code.";
    dev_done_locked: "已锁定：终端下次连接中心时停止同步并锁屏。", "Locked: the device stops syncing and locks at its next contact.";
    dev_done_unlocked: "已解除锁定：终端下次连接中心时恢复同步。", "Unlocked: the device syncs again at its next contact.";
    dev_done_wiped: "已下达清除指令：终端下次连接中心时销毁本机数据。", "Wipe ordered: the device destroys its data at its next contact.";
    dev_already: "终端已处于该状态，未执行。", "The device is already in that state; nothing was done.";
    rel_just_now: "刚刚", "just now";
    rel_minutes: "{} 分钟前", "{} min ago";
    rel_hours: "{} 小时前", "{} h ago";
    rel_days: "{} 天前", "{} days ago";
    unit_s: "秒", "s";
    unit_min: "分钟", "min";
    unit_h: "小时", "h";
    wipe_title: "清除终端数据", "Wipe a device";
    wipe_what_key: "终端下次连接中心时，销毁其数据密钥并删除本机全部数据（加密擦除），无法恢复。", "At its next contact with the centre the device destroys its data key and deletes all its data (crypto-erase); nothing can bring it back.";
    wipe_what_lost: "终端上尚未上传的记录将永久丢失（终端最近报告待上传 {} 条）。", "Records the device has not sent yet are lost for good (it last reported {} waiting).";
    wipe_what_final: "此操作不可撤销，清除后不能再解除。", "This cannot be undone: a wiped device cannot be unlocked.";
    wipe_what_when: "该终端如需再用，须使用新的注册码重新注册。", "To use the device again, enroll it with a new code.";
    wipe_confirm: "确认清除", "Wipe it";
    wipe_cancel: "取消", "Cancel";
    enr_title: "终端注册码", "Enrollment code";
    enr_hint: "为网格员的新终端生成一次性注册码：填写持有人并选择网格，或选择网格员账号。注册码只显示一次。", "A one-time code for a new device: give the holder and choose a grid, or choose a field staff account. The code is shown once.";
    enr_account: "网格员账号（可选）", "Field staff account (optional)";
    enr_label: "终端名称（可选）", "Device name (optional)";
    enr_days: "有效天数", "Valid for (days)";
    enr_issue: "生成注册码", "Issue a code";
    enr_qr_label: "注册码二维码", "Enrollment code as a QR code";
    enr_done: "注册码已生成", "Enrollment code issued";
    enr_expires: "有效期至", "Valid until";
    enr_once: "注册码只在此显示一次，中心只保存其摘要。请当面交给持有人或打印；离开此页后无法再次查看。", "The code is shown here once; the centre keeps only its digest. Hand it over or print it: it cannot be shown again after you leave this page.";
    enr_print: "打印", "Print";
    enr_need: "请填写持有人并选择网格，或选择网格员账号。", "Give the holder and choose a grid, or choose a field staff account.";
    enr_too_long: "持有人和终端名称最多 64 个字。", "The holder and the device name are at most 64 characters.";
    enr_bad_days: "有效天数应为 1 到 90 天。", "A code is valid for 1 to 90 days.";
    enr_refused: "无法生成注册码：网格或账号不存在、不在您的管辖区域内，或该账号不是在用的网格员账号。未执行。", "No code issued: the grid or account does not exist, is outside your area, or is not an active field staff account. Nothing was done.";
    // Catalog.
    cat_title: "事项清单", "Event catalog";
    cat_hint: "大类与小类、处置时限、预警阈值、照片要求、上报要素和分派部门。修改小类并发布后，终端下次同步时生效。", "Categories and their items, deadlines, colour thresholds, photo policy, report fields and routing. An item's change reaches the devices at their next sync.";
    cat_code: "编码", "Code";
    cat_name: "名称", "Name";
    cat_department: "职能部门", "Department";
    cat_thresholds: "黄/红预警", "Yellow / red at";
    cat_fields: "上报要素", "Report fields";
    cat_routing: "分派", "Routing";
    cat_required: "必填", "required";
    cat_no_deadline: "未规定", "none";
    cat_photo_summary: "至少 {n} 张，{mp} 百万像素，质量 {q}，≤ {kb} KB", "at least {n}, {mp} MP, quality {q}, ≤ {kb} KB";
    cat_kind_text: "文本", "text";
    cat_kind_int: "整数", "whole number";
    cat_kind_choice: "单选", "choice";
    cat_kind_bool: "是/否", "yes/no";
    lvl_city: "市", "city";
    lvl_district: "区县", "district";
    lvl_street: "街道", "street";
    lvl_community: "社区", "community";
    back_to_catalog: "← 返回事项清单", "← Back to the catalog";
    cat_edit: "修改小类", "Edit item";
    cat_basics: "基本信息", "Basics";
    cat_amount: "时限", "Deadline";
    cat_unit: "单位", "Unit";
    cat_yellow: "黄色预警（已用 %）", "Yellow at (% used)";
    cat_red: "红色预警（已用 %）", "Red at (% used)";
    cat_deadline_hint: "时限留空表示事项清单不规定，派遣时须由调度员填写。工作小时和工作日按工作日历计算。", "An empty deadline means the catalog gives none: a dispatcher must give one. Working hours and days count on the working-time calendar.";
    cat_min_photos: "最少照片数", "Photos at least";
    cat_max_pixels: "最大像素数", "Largest size (pixels)";
    cat_quality: "压缩质量", "Quality";
    cat_max_bytes: "最大字节数", "Largest file (bytes)";
    cat_field_key: "键（英文）", "Key";
    cat_field_label: "名称", "Label";
    cat_field_kind: "类型", "Kind";
    cat_field_choices: "选项（用、分隔）", "Choices (separated by 、 or ,)";
    cat_fields_hint: "清空键和名称即删除该要素；在空行中填写即新增。", "Clear a row's key and label to remove the field; fill an empty row to add one.";
    cat_publish: "发布修改", "Publish the change";
    cat_publish_hint: "发布后写入事项清单并记入审计日志，终端下次同步时收到。", "Published: written to the catalog and the audit log; the devices receive it at their next sync.";
    cat_refused: "未发布，请修改以下内容：", "Not published; please correct:";
    cat_done: "已发布：终端下次同步时收到新的事项清单。", "Published: the devices receive the new catalog at their next sync.";
    cat_unchanged: "没有修改，未发布。", "Nothing changed; nothing was published.";
    cat_stale: "此小类在您打开页面后已被修改（可能是其他管理员）。本次修改未发布；下面是最新内容，请核对后重新修改。", "This item changed after the page was loaded (perhaps another administrator). Your change was not published; below is the current entry — check it and make your change again.";
    catp_name_missing: "请填写名称。", "Give a name.";
    catp_name_too_long: "名称最多 64 个字，不能含控制字符。", "A name is at most 64 characters, without control characters.";
    catp_department_too_long: "职能部门最多 64 个字，不能含控制字符。", "A department is at most 64 characters, without control characters.";
    catp_deadline_range: "时限应为 1 到 8784 小时（工作日：1 到 366）。", "A deadline is 1 to 8,784 hours (working days: 1 to 366).";
    catp_deadline_unit: "时限单位应为小时、工作小时或工作日。", "A deadline's unit is hours, working hours or working days.";
    catp_threshold_range: "预警阈值应为 1% 到 100%。", "A threshold is 1 % to 100 %.";
    catp_threshold_order: "黄色预警阈值应小于红色预警阈值。", "Yellow must come before red.";
    catp_min_photos: "最少照片数应为 0 到 9。", "Photos at least: 0 to 9.";
    catp_pixels: "最大像素数应为 100000 到 50000000。", "The largest size is 100,000 to 50,000,000 pixels.";
    catp_quality: "压缩质量应为 30 到 95。", "Quality is 30 to 95.";
    catp_bytes: "最大字节数应为 50000 到 10000000。", "The largest file is 50,000 to 10,000,000 bytes.";
    catp_too_many_fields: "上报要素最多 20 项。", "At most 20 report fields.";
    catp_field_key: "要素的键应以小写英文字母开头，只含小写字母、数字和下划线，最多 32 位。", "A field's key starts with a lower-case letter and has only lower-case letters, digits and _ (at most 32).";
    catp_field_key_twice: "要素的键不能重复。", "Two fields have the same key.";
    catp_field_label: "每个要素都要有名称（最多 32 个字）。", "Every field needs a label (at most 32 characters).";
    catp_field_kind: "要素类型应为文本、整数、单选或是/否。", "A field's kind is text, whole number, choice or yes/no.";
    catp_field_choices: "单选要素需要 1 到 20 个互不相同的选项（每个最多 32 个字）；其他类型不能有选项。", "A choice needs 1 to 20 different choices (at most 32 characters each); other kinds have none.";
    catp_routing_level: "分派的层级无效。", "Not a level of the tree.";
    catp_routing_department: "分派的部门不存在。", "No such department.";
    catp_routing_twice: "每个层级只能分派一个部门。", "One department per level.";
    // Roles.
    role_dispatcher: "调度员", "dispatcher";
    role_department_handler: "部门处置人员", "department handler";
    role_supervisor: "督办人员", "supervisor";
    role_fleet_manager: "终端管理员", "fleet manager";
    role_auditor: "审计员", "auditor";
    role_system_administrator: "系统管理员", "system administrator";
    role_field_staff: "网格员", "field staff";
    role_other: "管理员", "administrator";
    // Errors.
    err_title: "出错了", "Something went wrong";
    err_not_found: "没有找到此页面或事件，或它不在您的管辖区域内。", "There is no such page or event, or it is outside your area.";
    err_forbidden: "您的角色无权进行此操作。", "Your role may not do this.";
    err_csrf: "此表单已过期或来自其他页面，未执行。请刷新页面后重试。", "This form is stale or came from elsewhere; nothing was done. Reload the page and try again.";
    err_bad_input: "提交的内容无效，未执行。", "What was sent is not valid; nothing was done.";
    err_unavailable: "服务暂时不可用，请稍后重试。", "The service is unavailable right now; try again shortly.";
    err_home: "返回首页", "Back to the start";
}

impl Texts {
    /// The name of a deadline's unit.
    pub fn unit(&self, u: gridpad_domain::worktime::DeadlineUnit) -> &'static str {
        use gridpad_domain::worktime::DeadlineUnit::*;
        match u {
            Hours => self.unit_hours,
            WorkingHours => self.unit_working_hours,
            WorkingDays => self.unit_working_days,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_colour_has_words_in_both_languages() {
        for l in [Lang::Zh, Lang::En] {
            for s in EventStatus::CODES {
                assert_ne!(l.status(s), l.t().unknown, "{s}");
            }
            for c in ["green", "yellow", "red", "overdue"] {
                assert_ne!(l.colour(c), l.t().colour_none);
            }
        }
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::Zh.other(), Lang::En);
    }
}
