"""Sheet A, one module per problem, named by its number: A1.1 the cost of
softmax attention (`a1_1_softmax_cost`), A1.2 the Taylor feature map
(`a1_2_taylor`), A1.3 linear attention (`a1_3_linear`), A1.4 the crossover
(`a1_4_crossover`, its evidence in `a1_4_evidence`), A2 (`a2_missing`: the
sheet lacks its text), A3 with Sheet B1, the chatbot (`a3_b1_chatbot`, its
tables and figures in `a3_b1_tables`)."""
