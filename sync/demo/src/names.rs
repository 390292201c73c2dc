//! Chinese names as a town has them: surnames weighted by how common they are, given names
//! of one or two characters, now and then a rare character (喆 堃 昇 …) that a font or an
//! input method must handle.

use crate::pick;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

pub(crate) const SURNAMES: &[(&str, u32)] = &[
    ("王", 720),
    ("李", 710),
    ("张", 690),
    ("刘", 540),
    ("陈", 500),
    ("杨", 340),
    ("黄", 250),
    ("赵", 230),
    ("吴", 210),
    ("周", 200),
    ("徐", 160),
    ("孙", 150),
    ("马", 130),
    ("朱", 120),
    ("胡", 110),
    ("郭", 110),
    ("何", 100),
    ("林", 100),
    ("高", 95),
    ("罗", 90),
    ("郑", 90),
    ("梁", 85),
    ("谢", 75),
    ("宋", 70),
    ("唐", 70),
    ("许", 65),
    ("韩", 65),
    ("冯", 60),
    ("邓", 60),
    ("曹", 55),
    ("彭", 55),
    ("曾", 50),
    ("萧", 45),
    ("田", 45),
    ("董", 45),
    ("潘", 40),
    ("袁", 40),
    ("蔡", 38),
    ("蒋", 38),
    ("余", 36),
    ("于", 36),
    ("杜", 34),
    ("叶", 34),
    ("程", 32),
    ("魏", 30),
    ("苏", 30),
    ("吕", 30),
    ("丁", 28),
    ("任", 28),
    ("卢", 26),
    ("姚", 26),
    ("沈", 26),
    ("钟", 24),
    ("姜", 24),
    ("崔", 22),
    ("谭", 22),
    ("陆", 22),
    ("范", 20),
    ("汪", 20),
    ("廖", 20),
    ("石", 20),
    ("金", 18),
    ("贾", 18),
    ("夏", 16),
    ("韦", 16),
    ("付", 16),
    ("方", 16),
    ("邹", 14),
    ("熊", 14),
    ("白", 14),
    ("孟", 14),
    ("秦", 14),
    ("邱", 12),
    ("侯", 12),
    ("江", 12),
    ("尹", 12),
    ("薛", 12),
    ("闫", 10),
    ("段", 10),
    ("雷", 10),
    ("龙", 10),
    ("黎", 10),
    ("史", 10),
    ("陶", 10),
    ("欧阳", 3),
    ("司马", 1),
    ("诸葛", 1),
];

const GIVEN_MALE: &str = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国志军海峰亮成东文博晨睿轩皓然宏";
const GIVEN_FEMALE: &str =
    "芳娜敏静丽艳娟霞秀玲桂英红梅琳莉雪婷慧倩颖佳怡欣璐瑶萍洁琴燕蕾晶月彤雅琪诗涵梓萱馨悦";
/// Characters outside GB2312 that real names use; fonts and input must cope with them.
const GIVEN_RARE: &str = "喆堃昇珺镕玥曌垚犇淼焱祎昕燚旻";

pub(crate) fn given_name(rng: &mut ChaCha8Rng, male: bool) -> String {
    let pool: Vec<char> = if male { GIVEN_MALE } else { GIVEN_FEMALE }
        .chars()
        .collect();
    let rare: Vec<char> = GIVEN_RARE.chars().collect();
    let len = if rng.random_bool(0.7) { 2 } else { 1 };
    (0..len)
        .map(|_| {
            if rng.random_bool(0.03) {
                *pick(rng, &rare)
            } else {
                *pick(rng, &pool)
            }
        })
        .collect()
}
