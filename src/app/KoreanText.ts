/**
 * Word lists the review generator draws from: products, review phrases that carry a
 * keyword -> tag pair and a tone, and the words the upstream stages write.
 */

export interface Product {
  readonly title: string
  /** Spark's `category` (SPEC's `tag`): comma-separated path. */
  readonly category: string
  readonly salesPrice: number
  readonly finalPrice: number
}

export const products: ReadonlyArray<Product> = [
  { title: "삼성 제트 무선청소기 200W", category: "가전,청소기,무선청소기", salesPrice: 159000, finalPrice: 129000 },
  { title: "LG 퓨리케어 공기청정기 AS181DWFA", category: "가전,공기청정기", salesPrice: 489000, finalPrice: 412000 },
  { title: "쿠쿠 6인용 IH 전기압력밥솥", category: "주방가전,밥솥", salesPrice: 259000, finalPrice: 198000 },
  { title: "필립스 에어프라이어 XXL 7.3L", category: "주방가전,에어프라이어", salesPrice: 329000, finalPrice: 279000 },
  { title: "로지텍 MX Master 3S 무선 마우스", category: "컴퓨터,주변기기,마우스", salesPrice: 139000, finalPrice: 119000 },
  { title: "곰곰 무농약 바나나 1.2kg", category: "식품,과일,바나나", salesPrice: 5990, finalPrice: 4990 },
  { title: "나이키 에어 줌 페가수스 40 러닝화", category: "패션,신발,러닝화", salesPrice: 169000, finalPrice: 135200 }
]

/** -1 negative, 0 neutral, +1 positive. */
export type Tone = -1 | 0 | 1

/** A sentence a reviewer writes, and the keyword -> tag the Spark job extracts from it. */
export interface Phrase {
  readonly text: string
  readonly keyword: string
  readonly tag: string
  readonly tone: Tone
}

export const phrases: ReadonlyArray<Phrase> = [
  { text: "배송이 정말 빨라요", keyword: "배송", tag: "빠름", tone: 1 },
  { text: "주문한 다음 날 새벽에 도착했어요", keyword: "배송", tag: "만족", tone: 1 },
  { text: "배송이 너무 늦게 왔어요", keyword: "배송", tag: "느림", tone: -1 },
  { text: "가격 대비 훌륭합니다", keyword: "가격", tag: "저렴", tone: 1 },
  { text: "할인할 때 사서 만족해요", keyword: "가격", tag: "만족", tone: 1 },
  { text: "가격이 좀 비싼 편이에요", keyword: "가격", tag: "비쌈", tone: -1 },
  { text: "품질이 기대 이상이에요", keyword: "품질", tag: "만족", tone: 1 },
  { text: "품질은 무난합니다", keyword: "품질", tag: "보통", tone: 0 },
  { text: "마감이 조금 아쉬워요", keyword: "품질", tag: "불만", tone: -1 },
  { text: "생각보다 조용해요", keyword: "소음", tag: "조용함", tone: 1 },
  { text: "소음이 꽤 커서 밤에는 못 쓰겠어요", keyword: "소음", tag: "불만", tone: -1 },
  { text: "디자인이 예뻐서 인테리어에 잘 어울려요", keyword: "디자인", tag: "만족", tone: 1 },
  { text: "디자인은 평범해요", keyword: "디자인", tag: "보통", tone: 0 },
  { text: "포장이 꼼꼼했습니다", keyword: "포장", tag: "만족", tone: 1 },
  { text: "상자가 찌그러져 왔어요", keyword: "포장", tag: "불만", tone: -1 },
  { text: "튼튼해 보여요", keyword: "내구성", tag: "만족", tone: 1 },
  { text: "한 달 만에 고장났어요", keyword: "내구성", tag: "불만", tone: -1 },
  { text: "사용법이 간단해요", keyword: "사용 편의성", tag: "만족", tone: 1 },
  { text: "설명서가 불친절해요", keyword: "사용 편의성", tag: "불만", tone: -1 },
  { text: "생각보다 작아요", keyword: "사이즈", tag: "보통", tone: 0 },
  { text: "색상이 사진과 똑같아요", keyword: "색상", tag: "만족", tone: 1 },
  { text: "색이 사진과 달라요", keyword: "색상", tag: "불만", tone: -1 },
  { text: "냄새가 좀 나요", keyword: "냄새", tag: "불만", tone: -1 }
]

/** Closing sentences with no keyword. */
export const closings: ReadonlyArray<{ readonly text: string; readonly tone: Tone }> = [
  { text: "재구매 의사 있어요", tone: 1 },
  { text: "주변에도 추천했어요", tone: 1 },
  { text: "그냥 그래요", tone: 0 },
  { text: "다시는 안 살 것 같아요", tone: -1 }
]

/** Every tag a keyword's phrases can carry; a second tag for the array form comes from here. */
export const tagsOf = (keyword: string): ReadonlyArray<string> => phrases.filter((p) => p.keyword === keyword).map((p) => p.tag)

/** How Coupang trial reviews begin; the Spark job flags a review as trial by this prefix. */
export const TRIAL_PREFIX = "쿠팡체험단 이벤트로 상품을 무상으로 제공받아 작성한 후기입니다."

/** What the LLM stage writes, by tone: mostly Korean, sometimes English in any case. */
export const sentimentWords: Readonly<Record<"positive" | "negative" | "neutral", ReadonlyArray<string>>> = {
  positive: ["긍정", "긍정", "긍정", "긍정", "positive", "POS"],
  negative: ["부정", "부정", "부정", "부정", "negative", " Neg "],
  neutral: ["중립", "중립", "중립", "중립", "neutral", "Neu"]
}

/** Sentiment values no decoder accepts (SPEC 3.2: a schema failure). */
export const unknownSentiments: ReadonlyArray<unknown> = ["몰라요", "mixed", 1]

export const weekdays: ReadonlyArray<string> = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

export const emptySummary = "요약: 내용 없음"
