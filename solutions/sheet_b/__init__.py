"""Sheet B, one module per problem, named by its number: B1 (the chatbot) is
answered with A3 in `solutions.sheet_a.a3_b1_chatbot`; B2.i multi-head
attention's score moments (`b2_i_moments`), B2.ii its cost in
multiplications (`b2_ii_cost`), B2.iii the low-rank form (`b2_iii_rank`), B3
travel-time forecasting (`b3_traffic`), B4 the exam problem (`b4_exam`)."""
