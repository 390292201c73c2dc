//! The demo's event catalog (事项清单): 10 大类 and 32 小类 modelled on the published lists,
//! with departments, deadlines (in working days for what an office handles, hours on the
//! clock for the urgent) and the fields a report of each asks for.

use gridpad_domain::catalog::{Category, CategoryField};
use gridpad_domain::worktime::DeadlineUnit;

/// The 小类 whose handling is counted in working days (matters an office handles in its
/// working hours); the others in hours on the clock (urgent: safety, disputes, people).
fn working_days(name: &str) -> Option<u32> {
    match name {
        "违规张贴涂写" => Some(2),
        "物业纠纷" | "道路破损" | "流动人口未登记" => Some(3),
        "意见建议" => Some(5),
        _ => None,
    }
}

/// The event catalog: 10 大类, 32 小类, with deadlines, departments and fields.
pub fn catalog() -> Vec<Category> {
    let f = |key: &str, label: &str, kind: &str, required: bool, choices: &[&str]| CategoryField {
        key: key.into(),
        label: label.into(),
        kind: kind.into(),
        required,
        choices: choices.iter().map(|s| s.to_string()).collect(),
    };
    type Sub = (&'static str, u32, Vec<CategoryField>);
    let tree: Vec<(&str, &str, Vec<Sub>)> = vec![
        (
            "治安隐患",
            "派出所",
            vec![
                (
                    "可疑人员车辆",
                    4,
                    vec![f("description_of", "体貌或车牌", "text", false, &[])],
                ),
                (
                    "治安纠纷苗头",
                    24,
                    vec![f("parties", "涉及人数", "int", true, &[])],
                ),
                ("违法犯罪线索", 8, vec![]),
            ],
        ),
        (
            "消防安全",
            "消防救援站",
            vec![
                (
                    "消防通道堵塞",
                    4,
                    vec![f(
                        "blocked_by",
                        "堵塞物",
                        "choice",
                        true,
                        &["车辆", "杂物", "违章搭建", "其他"],
                    )],
                ),
                (
                    "消防设施损坏",
                    48,
                    vec![f(
                        "facility",
                        "设施类型",
                        "choice",
                        true,
                        &["消火栓", "灭火器", "应急照明", "烟感"],
                    )],
                ),
                (
                    "电动车违规充电",
                    8,
                    vec![f("indoor", "室内充电", "bool", true, &[])],
                ),
                ("违规用火用电", 8, vec![]),
            ],
        ),
        (
            "矛盾纠纷",
            "司法所",
            vec![
                (
                    "邻里纠纷",
                    72,
                    vec![f("parties", "当事人数", "int", true, &[])],
                ),
                (
                    "婚姻家庭纠纷",
                    72,
                    vec![f("parties", "当事人数", "int", true, &[])],
                ),
                (
                    "劳资纠纷",
                    48,
                    vec![
                        f("workers", "涉及人数", "int", true, &[]),
                        f("amount", "涉及金额(元)", "int", false, &[]),
                    ],
                ),
                ("物业纠纷", 72, vec![]),
            ],
        ),
        (
            "市容环境",
            "综合行政执法队",
            vec![
                ("乱堆乱放", 24, vec![]),
                ("占道经营", 12, vec![]),
                ("垃圾未及时清运", 12, vec![]),
                ("违规张贴涂写", 48, vec![]),
            ],
        ),
        (
            "城市部件",
            "住建局",
            vec![
                (
                    "井盖缺失破损",
                    4,
                    vec![f("danger", "已设警示", "bool", false, &[])],
                ),
                (
                    "路灯损坏",
                    72,
                    vec![f("lamp_code", "路灯编号", "text", false, &[])],
                ),
                ("道路破损", 72, vec![]),
            ],
        ),
        (
            "安全生产",
            "应急管理局",
            vec![
                (
                    "危化品违规存放",
                    8,
                    vec![f("substance", "物品名称", "text", true, &[])],
                ),
                ("三合一场所", 24, vec![]),
                ("建筑施工隐患", 24, vec![]),
            ],
        ),
        (
            "出租房屋与流动人口",
            "派出所",
            vec![
                (
                    "出租屋未登记",
                    72,
                    vec![f("tenants", "租客人数", "int", false, &[])],
                ),
                (
                    "群租隐患",
                    48,
                    vec![f("tenants", "租客人数", "int", true, &[])],
                ),
                ("流动人口未登记", 72, vec![]),
            ],
        ),
        (
            "民生服务",
            "民政办",
            vec![
                (
                    "困难群众求助",
                    48,
                    vec![f(
                        "need",
                        "诉求",
                        "choice",
                        true,
                        &["生活", "医疗", "住房", "就业", "其他"],
                    )],
                ),
                ("独居老人关怀", 24, vec![]),
                (
                    "代办服务",
                    120,
                    vec![f("service", "代办事项", "text", true, &[])],
                ),
            ],
        ),
        (
            "食品药品",
            "市场监管所",
            vec![("无证经营", 72, vec![]), ("过期变质食品", 24, vec![])],
        ),
        (
            "其他事项",
            "综治中心",
            vec![
                (
                    "突发事件",
                    2,
                    vec![f("injured", "有无人员受伤", "bool", true, &[])],
                ),
                ("意见建议", 168, vec![]),
                ("其他", 72, vec![]),
            ],
        ),
    ];
    let mut out = vec![];
    for (i, (name, dept, subs)) in tree.into_iter().enumerate() {
        let code = format!("{:02}", i + 1);
        let entry = |code: String,
                     parent: Option<String>,
                     level,
                     name: &str,
                     hours: Option<u32>,
                     fields| Category {
            sort: code.parse().unwrap_or(0),
            code,
            parent_code: parent,
            level,
            name: name.to_string(),
            department: dept.to_string(),
            deadline_hours: hours.map(|h| working_days(name).unwrap_or(h)),
            deadline_unit: if hours.is_some() && working_days(name).is_some() {
                DeadlineUnit::WorkingDays
            } else {
                DeadlineUnit::Hours
            },
            yellow_pct: 50,
            red_pct: 80,
            fields,
        };
        out.push(entry(code.clone(), None, 1, name, None, vec![]));
        for (j, (sub, hours, fields)) in subs.into_iter().enumerate() {
            out.push(entry(
                format!("{code}{:02}", j + 1),
                Some(code.clone()),
                2,
                sub,
                Some(hours),
                fields,
            ));
        }
    }
    out
}
